import CacheProtocol
import Logging

/// The prefix cache's tiers below the hot pool, in order: compressed RAM, local disk, remote
/// peer/store (each optional). A page demoted from the hot pool is encoded once (`PageCodec`) and
/// enters the first configured tier; each tier that runs out of room passes its least recently used
/// pages to the next, and the last one drops them. A promotion looks in every tier in order, takes
/// the page out, and returns it decoded and checksum-verified, bit-identical to what was demoted;
/// corrupt data is a miss and a log line.
///
/// Durability: a page promoted from disk keeps its file as a durable copy for as long as the key is
/// held, and so does a page on disk whose key is put again (`movedHot`), so an acknowledged page on
/// disk survives `kill -9` whichever tier serves it; when the page
/// comes back down its copy becomes the page again without a write. `keepDurableCopy` gives a hot
/// page such a copy (what the worker does for every hot page before it exits).
///
/// Every key in a tier is held by the worker. A key leaves the worker only when the chain drops it
/// (past the last tier, refused by the remote, or found unreadable): `demote` returns those keys so
/// that the service can record `removed` events for them. The remote tier's index lists the keys
/// this worker put there; the remote's copy of a promoted page stays on the remote, which owns it.
///
/// Calls are serialised by the actor; disk moves run synchronously inside it (a durable page write
/// costs its fsyncs), remote requests are awaited with their timeout.
actor PageTiers: LowerTiers {
    private var compressed: CompressedMemoryTier?
    private var disk: DiskTier?
    private let remote: RemoteTier?
    private var remoteSizes: [PrefixKey: Int] = [:]
    private var remoteStatistics = TierStatistics()
    private var moves = TierMoves()
    private let codec: PageCodec
    private let logger: Logger

    /// A chain of the given tiers, encoding with `codec`.
    init(
        compressed: CompressedMemoryTier?,
        disk: DiskTier?,
        remote: RemoteTier?,
        codec: PageCodec = PageCodec(),
        logger: Logger
    ) {
        self.compressed = compressed
        self.disk = disk
        self.remote = remote
        self.codec = codec
        self.logger = logger
    }

    /// Encodes `page` and places it in the first tier, moving older pages down as room is needed.
    /// Returns the keys that left the worker as a result, oldest first.
    /// A page whose durable copy is on disk keeps it: without compressed RAM the copy becomes the
    /// page at once (nothing is written).
    func demote(key: PrefixKey, page: RawPage) async -> [PrefixKey] {
        _ = compressed?.remove(key)
        if disk?.contains(key) == true { _ = disk?.remove(key) }
        _ = takeRemoteEntry(key)
        if compressed == nil, disk?.adoptCopy(key) == true { return [] }
        let started = ContinuousClock.now
        return await place([
            Move(page: EncodedPage(key: key, bytes: codec.encode(page)), source: "hot", started: started)
        ])
    }

    /// Takes the page out of the first tier holding it and decodes it; nil when no tier has it or
    /// its data is corrupt (logged; the key is gone either way). Each tier asked counts a hit or a
    /// miss. A page read from disk leaves its file there as the page's durable copy.
    func promote(key: PrefixKey) async -> RawPage? {
        let started = ContinuousClock.now
        if compressed != nil {
            if compressed?.contains(key) == true {
                if let page = verified(compressed?.take(key), key: key, tier: .compressed, started: started) {
                    return page
                }
                // Unreadable in RAM: the page's durable copy, if it has one, serves instead.
                guard disk?.adoptCopy(key) == true else { return nil }
            } else {
                count(.compressed, hit: false)
            }
        }
        if disk != nil {
            if disk?.contains(key) == true {
                guard let page = verified(disk?.read(key), key: key, tier: .disk, started: started) else {
                    _ = disk?.remove(key)
                    return nil
                }
                return page
            }
            count(.disk, hit: false)
        }
        guard let remote else { return nil }
        guard takeRemoteEntry(key) else {
            count(.remote, hit: false)
            return nil
        }
        return verified(await remote.get(key), key: key, tier: .remote, started: started)
    }

    /// Promotes every key of `keys` that a tier holds (remote fetches run concurrently) and returns
    /// the pages found, in the order of `keys`: what the service admits into the hot pool ahead of
    /// a sequence that will need them.
    func prefetch(keys: [PrefixKey]) async -> [(key: PrefixKey, page: RawPage)] {
        var found: [PrefixKey: RawPage] = [:]
        var remoteKeys: [PrefixKey] = []
        for key in keys where found[key] == nil {
            if remoteSizes[key] != nil, compressed?.contains(key) != true, disk?.contains(key) != true {
                remoteKeys.append(key)
            } else if let page = await promote(key: key) {
                found[key] = page
            }
        }
        if let remote, !remoteKeys.isEmpty {
            let started = ContinuousClock.now
            let fetched = await withTaskGroup(of: (PrefixKey, [UInt8]?).self) { group in
                for key in remoteKeys { group.addTask { (key, await remote.get(key)) } }
                var out: [(PrefixKey, [UInt8]?)] = []
                for await result in group { out.append(result) }
                return out
            }
            // The fetches overlap: each move is counted with an equal share of the batch's wall
            // time (its decode and check included), so the moves' durations add up to the time
            // the batch took.
            var decoded: [(PrefixKey, [UInt8]?, RawPage?)] = []
            for (key, bytes) in fetched where takeRemoteEntry(key) {
                decoded.append((key, bytes, verified(bytes, key: key, tier: .remote, recordMove: false)))
            }
            let share = started.duration(to: .now) / max(1, decoded.count)
            for (key, bytes, page) in decoded {
                guard let page, let bytes else { continue }
                moves.record(from: Tier.remote.rawValue, to: "hot", bytes: bytes.count, duration: share)
                found[key] = page
            }
        }
        return keys.compactMap { key in found.removeValue(forKey: key).map { (key, $0) } }
    }

    /// Whether the page of the key lives in a tier (the remote tier by its index: no request is
    /// sent); a durable copy of a page that lives hot does not count.
    func contains(key: PrefixKey) async -> Bool {
        compressed?.contains(key) == true || disk?.contains(key) == true || remoteSizes[key] != nil
    }

    /// Removes the key from every tier, its durable copy included (asking the remote to remove its
    /// copy).
    func remove(key: PrefixKey) async {
        removeLocally(key)
        if let remote, takeRemoteEntry(key) { await remote.remove(key) }
    }

    /// The pages of `keys` now live hot, admitted from elsewhere with the content the tiers hold under
    /// those keys: compressed RAM drops its page, a page file on disk becomes the hot page's durable
    /// copy (nothing is written or read), and the remote is asked to remove its copy.
    func movedHot(keys: [PrefixKey]) async {
        for key in keys {
            _ = compressed?.remove(key)
            _ = disk?.keepAsCopy(key)
            if let remote, takeRemoteEntry(key) { await remote.remove(key) }
        }
    }

    /// Every key whose page lives in a tier, compressed RAM first, then disk, then remote (durable
    /// copies of hot pages left out).
    func keys() async -> [PrefixKey] {
        (compressed?.keys ?? []) + (disk?.keys ?? []) + Array(remoteSizes.keys)
    }

    /// Moves the pages of compressed RAM down to disk (where they survive a restart) when there is a
    /// disk tier; pages written to disk are already durable.
    func flush() async {
        guard disk != nil, let keys = compressed?.keys else { return }
        for key in keys {
            guard let bytes = compressed?.take(key) else { continue }
            _ = await place(
                [Move(page: EncodedPage(key: key, bytes: bytes), source: "compressed", started: .now)],
                skippingCompressed: true
            )
        }
    }

    /// Whether there is a disk tier and `key` has no file in it.
    func needsDurableCopy(key: PrefixKey) async -> Bool {
        disk?.hasFile(for: key) == false
    }

    /// Writes a durable copy of the hot page `page` of `key` to the disk tier, unless there is no disk
    /// tier or the key already has a file there; older pages that live on disk make room as for a
    /// demotion (passed to the remote tier, or dropped). Returns the keys that left the worker.
    func keepDurableCopy(key: PrefixKey, page: RawPage) async -> [PrefixKey] {
        guard disk != nil, disk?.hasFile(for: key) == false else { return [] }
        let started = ContinuousClock.now
        let encoded = EncodedPage(key: key, bytes: codec.encode(page))
        guard let overflow = disk?.keepCopy(encoded, passesEvictedPagesOn: remote != nil) else { return [] }
        if disk?.hasCopy(of: key) == true {
            moves.record(from: "hot", to: "disk", bytes: encoded.bytes.count, duration: started.duration(to: .now))
        }
        let refused = await placeRemotely(overflow.pages.map { Move(page: $0, source: "disk", started: .now) })
        return overflow.lost + refused
    }

    /// The counters of every configured tier, named `tier_<compressed|disk|remote>_<counter>`.
    func statistics() async -> [StatsReply.Counter] {
        var counters: [(name: String, value: UInt64)] = []
        if let compressed { counters += compressed.statistics.counters(tier: "compressed") }
        if let disk { counters += disk.statistics.counters(tier: "disk") }
        if remote != nil { counters += remoteStatistics.counters(tier: "remote") }
        counters += moves.counters
        return counters.map { StatsReply.Counter(name: $0.name, value: $0.value) }
    }

    /// A page on its way down, where it comes from and when its move started.
    private struct Move {
        var page: EncodedPage
        var source: String
        var started: ContinuousClock.Instant
    }

    /// Places `pages` in the first tier (or the first below compressed RAM) and the overflow of
    /// each tier in the next, timing each move; returns the keys that no tier kept.
    private func place(_ pages: [Move], skippingCompressed: Bool = false) async -> [PrefixKey] {
        var lost: [PrefixKey] = []
        var pending = pages
        if compressed != nil, !skippingCompressed {
            var next: [Move] = []
            for move in pending {
                guard let overflow = compressed?.insert(move.page) else { continue }
                moves.record(
                    from: move.source,
                    to: "compressed",
                    bytes: move.page.bytes.count,
                    duration: move.started.duration(to: .now)
                )
                next += overflow.pages.map { Move(page: $0, source: "compressed", started: .now) }
                lost += overflow.lost
            }
            pending = next
        }
        if disk != nil {
            var next: [Move] = []
            for move in pending {
                // A page whose durable copy is on disk is already there.
                if disk?.adoptCopy(move.page.key) == true { continue }
                guard let overflow = disk?.insert(move.page, passesEvictedPagesOn: remote != nil) else { continue }
                if !overflow.pages.contains(where: { $0.key == move.page.key }) {
                    moves.record(
                        from: move.source,
                        to: "disk",
                        bytes: move.page.bytes.count,
                        duration: move.started.duration(to: .now)
                    )
                }
                next += overflow.pages.map {
                    Move(page: $0, source: $0.key == move.page.key ? move.source : "disk", started: .now)
                }
                lost += overflow.lost
            }
            pending = next
        }
        let refused = await placeRemotely(pending)
        return lost + refused
    }

    /// Puts `pages` on the remote tier, timing each move; returns the keys it did not take (all of
    /// them without a remote tier).
    private func placeRemotely(_ pending: [Move]) async -> [PrefixKey] {
        var lost: [PrefixKey] = []
        for move in pending {
            let page = move.page
            guard let remote, await remote.put(page) else {
                lost.append(page.key)
                continue
            }
            moves.record(
                from: move.source,
                to: "remote",
                bytes: page.bytes.count,
                duration: move.started.duration(to: .now)
            )
            if let old = remoteSizes.updateValue(page.bytes.count, forKey: page.key) {
                remoteStatistics.pages -= 1
                remoteStatistics.bytes -= old
            }
            remoteStatistics.pages += 1
            remoteStatistics.bytes += page.bytes.count
            remoteStatistics.movedIn += 1
        }
        return lost
    }

    /// Removes the key from compressed RAM and disk.
    private func removeLocally(_ key: PrefixKey) {
        _ = compressed?.remove(key)
        _ = disk?.remove(key)
    }

    /// The tiers, for counting.
    private enum Tier: String {
        case compressed, disk, remote
    }

    /// Counts a promotion `tier` served or could not serve.
    private func count(_ tier: Tier, hit: Bool) {
        switch (tier, hit) {
        case (.compressed, true): compressed?.statistics.hits += 1
        case (.compressed, false): compressed?.statistics.misses += 1
        case (.disk, true): disk?.statistics.hits += 1
        case (.disk, false): disk?.statistics.misses += 1
        case (.remote, true): remoteStatistics.hits += 1
        case (.remote, false): remoteStatistics.misses += 1
        }
    }

    /// Drops `key` from the remote index; returns whether it was there.
    private func takeRemoteEntry(_ key: PrefixKey) -> Bool {
        guard let size = remoteSizes.removeValue(forKey: key) else { return false }
        remoteStatistics.pages -= 1
        remoteStatistics.bytes -= size
        return true
    }

    /// The page `bytes` taken from `tier` decode to, counted as a hit (and a move to hot that began
    /// at `started`); nil, counted as a miss and logged, when the bytes could not be read or fail a
    /// check.
    private func verified(
        _ bytes: [UInt8]?,
        key: PrefixKey,
        tier: Tier,
        started: ContinuousClock.Instant = .now,
        recordMove: Bool = true
    ) -> RawPage? {
        guard let bytes else {
            logger.warning("\(tier.rawValue) tier: page unreadable, a miss", metadata: ["key": "\(key)"])
            count(tier, hit: false)
            return nil
        }
        do {
            let page = try codec.decode(bytes)
            count(tier, hit: true)
            if recordMove {
                moves.record(from: tier.rawValue, to: "hot", bytes: bytes.count, duration: started.duration(to: .now))
            }
            return page
        } catch {
            logger.warning(
                "\(tier.rawValue) tier: corrupt page, a miss",
                metadata: ["key": "\(key)", "reason": "\(error)"]
            )
            count(tier, hit: false)
            return nil
        }
    }
}

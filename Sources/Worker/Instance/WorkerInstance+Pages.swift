import CacheProtocol

/// Pages: put, get, contains, remove, pull, prefetch, and pages coming back from the lower tiers.
extension WorkerInstance {
    /// Whether `key`'s page is in the hot pool.
    func isHot(_ key: PrefixKey) -> Bool {
        manager.cache.page(for: key) != nil
    }

    /// The keys of `keys` that lie below the hot pool, each once.
    func keysBelow(_ keys: [PrefixKey]) -> [PrefixKey] {
        var seen = Set<PrefixKey>()
        return keys.filter { !isHot($0) && manager.cache.lowerTierKeys.contains($0) && seen.insert($0).inserted }
    }

    /// Decodes a page and checks it is one of this model's pages.
    func decodePage(_ page: EncodedPage) throws(ServiceError) -> RawPage {
        let raw: RawPage
        do throws(PageCodecError) {
            raw = try codec.decode(page.bytes)
        } catch {
            throw ServiceError(error)
        }
        guard raw.layout == layout else {
            throw .modelMismatch("page \(page.key) has layout \(raw.layout), this worker's model needs \(layout)")
        }
        return raw
    }

    /// Stores every page or none: each is decoded and checked first (its checksum, its layout against
    /// the model's, an int8 page's scales; a bad one refuses the whole put), then the keys that are
    /// not hot are admitted hot. A key already hot keeps its page (and its durable copy), so of a key
    /// repeated in one put the first page is stored. A key whose page lives in a lower tier takes the
    /// put's page hot: a key addresses its content, so the page is the same one, and the tiers keep
    /// a file on disk as its durable copy (`keepDurableCopies`), so an acknowledged page that was
    /// durable stays durable.
    mutating func put(_ pages: [EncodedPage], effects: inout [WorkerDirective]) throws(ServiceError) {
        var raws: [(PrefixKey, RawPage)] = []
        for page in pages {
            let raw = try decodePage(page)
            do throws(StorageError) {
                try manager.store.validatePage(raw.bytes)
            } catch {
                throw ServiceError(error).about("page \(page.key)")
            }
            raws.append((page.key, raw))
        }
        let newKeys = Set(raws.map(\.0)).filter { !isHot($0) }
        let available = manager.allocator.freeCount + manager.cache.idleCount
        guard newKeys.count <= available else {
            throw .capacity("\(newKeys.count) pages to store, \(available) free or evictable")
        }
        for (key, raw) in raws where !isHot(key) {
            let evictions: [EvictionDirective]
            do throws(StorageError) {
                evictions = try manager.admit(key: key, pageBytes: raw.bytes)
            } catch {
                throw ServiceError(error)
            }
            record(evictions, effects: &effects)
            // Before any later eviction of the key, so that its file becomes a copy before it comes back down.
            if case .keepDurableCopies(let keys)? = effects.last {
                effects[effects.count - 1] = .keepDurableCopies(keys + [key])
            } else {
                effects.append(.keepDurableCopies([key]))
            }
        }
    }

    /// Answers a `PageGet` from the hot pool, first asking for the requested pages that lie below it.
    mutating func get(_ keys: [PrefixKey], requestID: UInt64) throws(ServiceError) -> [WorkerDirective] {
        let below = keysBelow(keys)
        guard below.isEmpty else {
            return [
                .fetchFromLowerTiers(
                    below,
                    then: PendingRequest(requestID: requestID, step: .get(keys: keys, asked: below))
                )
            ]
        }
        return reply(requestID, .pageGetReply(PageGetReply(pages: try encodedPages(keys, fetched: [:]))))
    }

    /// The pages of `keys` the worker has, in order, keys it lacks left out: those in `fetched` (just
    /// brought back from the lower tiers) as they came, the others from the hot pool.
    func encodedPages(_ keys: [PrefixKey], fetched: [PrefixKey: RawPage]) throws(ServiceError) -> [EncodedPage] {
        var pages: [EncodedPage] = []
        for key in keys {
            if let raw = fetched[key], raw.layout == layout {
                pages.append(EncodedPage(key: key, bytes: codec.encode(raw)))
                continue
            }
            let bytes: [UInt8]?
            do throws(StorageError) {
                bytes = try manager.cachedPage(key: key)
            } catch {
                throw ServiceError(error)
            }
            guard let bytes else { continue }
            do throws(PageCodecError) {
                pages.append(EncodedPage(key: key, bytes: codec.encode(try RawPage(layout: layout, bytes: bytes))))
            } catch {
                throw .internal("hot page \(key): \(error)")
            }
        }
        return pages
    }

    /// Answers a `PageContains`: a hot key is present; the others are put to the lower tiers.
    func contains(_ keys: [PrefixKey], requestID: UInt64) -> [WorkerDirective] {
        var seen = Set<PrefixKey>()
        let asked = keys.filter { !isHot($0) && seen.insert($0).inserted }
        guard asked.isEmpty else {
            return [
                .askLowerTiersContain(
                    asked,
                    then: PendingRequest(requestID: requestID, step: .contains(keys: keys, asked: asked))
                )
            ]
        }
        return reply(requestID, .pageContainsReply(PageContainsReply(present: keys.map { _ in true })))
    }

    /// Removes `keys` from the hot cache (recording removed events for the keys held) and has the
    /// shell remove them from the lower tiers, durable copies of hot pages included.
    mutating func remove(_ keys: [PrefixKey], effects: inout [WorkerDirective]) throws(ServiceError) {
        for key in keys {
            do throws(StorageError) {
                _ = try manager.removeCached(key: key)
            } catch {
                throw ServiceError(error)
            }
        }
        if !keys.isEmpty { effects.append(.removeFromLowerTiers(keys)) }
    }

    /// Starts a `PullPages`: asks the lower tiers which of the keys that are not hot they hold; the
    /// rest is fetched from the peer (`resume`).
    func pull(_ body: PullPages, requestID: UInt64) -> [WorkerDirective] {
        var seen = Set<PrefixKey>()
        let asked = body.keys.filter { !isHot($0) && seen.insert($0).inserted }
        guard asked.isEmpty else {
            return [
                .askLowerTiersContain(
                    asked,
                    then: PendingRequest(requestID: requestID, step: .pullPresence(body, asked: asked))
                )
            ]
        }
        return reply(requestID, .pullPagesReply(PullPagesReply(pulled: body.keys.map { _ in true })))
    }

    /// The next step of a pull: fetch the next batch of `wanted` from the peer, or, with nothing
    /// left, answer which keys are now held (hot, or in a lower tier).
    func pullNext(
        _ body: PullPages,
        requestID: UInt64,
        wanted: [PrefixKey],
        heldBelow: Set<PrefixKey>
    ) -> [WorkerDirective] {
        guard !wanted.isEmpty else {
            let pulled = body.keys.map {
                isHot($0) || heldBelow.contains($0) || manager.cache.lowerTierKeys.contains($0)
            }
            return reply(requestID, .pullPagesReply(PullPagesReply(pulled: pulled)))
        }
        let batch = Array(wanted.prefix(WireLimits.maxPagesPerRequest))
        let step = PendingRequest.Step.pullBatch(
            body,
            batch: batch,
            remaining: Array(wanted.dropFirst(batch.count)),
            heldBelow: heldBelow
        )
        return [
            .fetchFromPeer(
                endpoint: body.peerEndpoint,
                keys: batch,
                then: PendingRequest(requestID: requestID, step: step)
            )
        ]
    }

    /// Answers a `PrefetchPages`, first asking for the listed pages that lie below the hot pool.
    func prefetch(_ keys: [PrefixKey], requestID: UInt64) throws(ServiceError) -> [WorkerDirective] {
        try requireCompute(.prefetchPages)
        let below = keysBelow(keys)
        guard below.isEmpty else {
            return [
                .fetchFromLowerTiers(
                    below,
                    then: PendingRequest(requestID: requestID, step: .prefetch(keys: keys, asked: below))
                )
            ]
        }
        return reply(requestID, .prefetchPagesReply(PrefetchPagesReply(hot: keys.map(isHot))))
    }

    /// Admits the pages the lower tiers gave back for `asked` into the hot pool, as far as they can
    /// be admitted; asked keys the tiers did not give back have left the worker.
    mutating func admit(fetched pages: [PrefixKey: RawPage], asked: [PrefixKey], effects: inout [WorkerDirective]) {
        manager.lowerTiersLost(keys: asked.filter { pages[$0] == nil })
        for key in asked {
            guard let page = pages[key] else { continue }
            admit(promoted: page, key: key, effects: &effects)
        }
    }

    /// Admits a page brought back from a lower tier into the hot pool; a page that cannot be admitted
    /// (no page free or evictable) is handed back to the tiers, and one of another layout has left
    /// the worker.
    mutating func admit(promoted page: RawPage, key: PrefixKey, effects: inout [WorkerDirective]) {
        guard page.layout == layout else {
            effects.append(
                .log(.warning, "lower tiers returned page \(key) of layout \(page.layout), expected \(layout)")
            )
            manager.lowerTiersLost(keys: [key])
            return
        }
        do throws(StorageError) {
            let evictions = try manager.admit(key: key, pageBytes: page.bytes)
            counters.promoted += 1
            record(evictions, effects: &effects)
        } catch {
            effects.append(.demote(key: key, page: page))
        }
    }

    /// Turns the hot pool's evictions into `demote` directives.
    mutating func record(_ evictions: [EvictionDirective], effects: inout [WorkerDirective]) {
        for eviction in evictions {
            switch eviction {
            case let .demote(key, bytes):
                do throws(PageCodecError) {
                    effects.append(.demote(key: key, page: try RawPage(layout: layout, bytes: bytes)))
                    counters.demoted += 1
                } catch {
                    effects.append(.log(.error, "evicted page \(key) has \(bytes.count) bytes: \(error)"))
                    manager.lowerTiersLost(keys: [key])
                }
            case .drop:
                break
            }
        }
    }
}

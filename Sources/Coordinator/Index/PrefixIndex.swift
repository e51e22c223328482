import CacheProtocol

/// The global prefix index: which worker holds which prefix page, and in which tier.
///
/// Layout, chosen for memory (≥ 1,000,000 pages over ≥ 256 workers) and for lookups that touch few
/// cache lines:
/// - every distinct key has one 40-byte entry (the key, its first holder inline, the handle of its
///   other holders), in one array with a free list;
/// - an open-addressing table of 8-byte buckets (entry index and 32 hash bits, linear probing,
///   at most 70% full, deletion by backward shift so that no tombstones accumulate) finds a key's
///   entry; most lookups read one bucket and one entry;
/// - keys held by several workers keep their other holders in `HolderSlabs`, contiguous per key.
///
/// A page is one (key, worker) pair. Keys include the namespace (`PrefixKey`), so tenants are
/// apart by construction. Removing a worker's pages (death, deregistration, a snapshot replacing
/// what was known) scans the entries once: it is rare, and it spares a per-worker list of keys.
struct PrefixIndex: Sendable {
    /// One distinct key.
    private struct Entry: Sendable {
        /// The key.
        var key: IndexKey
        /// Its first holder; `.empty` marks a free entry.
        var first: HolderCell
        /// Handle + 1 of its other holders in `slabs`; 0 when it has none.
        var others: UInt32
    }

    private static let maxLoadPercent = 70
    private static let tierCount = CacheTier.allCases.count

    private var buckets: [UInt64]
    private var entries: [Entry] = []
    private var freeEntries: [UInt32] = []
    private var slabs = HolderSlabs()
    private var tierCounts: [Int] = []
    private var stamps: [UInt32] = []
    private var stampTiers: [UInt8] = []
    private var stamp: UInt32 = 0
    private let seed: UInt64

    /// Distinct keys indexed.
    private(set) var keyCount = 0
    /// (key, worker) pages indexed.
    private(set) var pageCount = 0

    /// An empty index whose hashing is keyed by `seed` (see `IndexKey.hash(seed:)`), with room for
    /// `expectedKeys` keys before its table first grows.
    init(seed: UInt64, expectedKeys: Int = 1024) {
        self.seed = seed
        var capacity = 1024
        while capacity * Self.maxLoadPercent / 100 < expectedKeys { capacity *= 2 }
        buckets = Array(repeating: 0, count: capacity)
    }

    // MARK: Reading

    /// Pages worker `slot` holds, every tier.
    func pages(of slot: Int) -> Int {
        guard slot * Self.tierCount < tierCounts.count else { return 0 }
        return (0..<Self.tierCount).reduce(0) { $0 + tierCounts[slot * Self.tierCount + $1] }
    }

    /// Pages worker `slot` holds in `tier`.
    func pages(of slot: Int, in tier: CacheTier) -> Int {
        let index = slot * Self.tierCount + Int(tier.rawValue)
        return index < tierCounts.count ? tierCounts[index] : 0
    }

    /// Every holder of `key` with its tier, in no particular order.
    func holders(of key: PrefixKey) -> [(slot: Int, tier: CacheTier)] {
        let indexKey = IndexKey(key)
        guard let (_, entry) = find(indexKey, hash: indexKey.hash(seed: seed)) else { return [] }
        var result: [(slot: Int, tier: CacheTier)] = []
        forEachHolder(of: entry) { cell in result.append((cell.slot, cell.tier)) }
        return result
    }

    /// The tier in which worker `slot` holds `key`, `nil` when it does not.
    func tier(of key: PrefixKey, slot: Int) -> CacheTier? {
        holders(of: key).first { $0.slot == slot }?.tier
    }

    /// Bytes the index's arrays have reserved (their capacity, not only their use).
    var reservedBytes: Int {
        buckets.capacity * MemoryLayout<UInt64>.stride + entries.capacity * MemoryLayout<Entry>.stride
            + freeEntries.capacity * MemoryLayout<UInt32>.stride + slabs.reservedBytes
            + tierCounts.capacity * MemoryLayout<Int>.stride + stamps.capacity * MemoryLayout<UInt32>.stride
            + stampTiers.capacity
    }

    // MARK: Changing

    /// Records that worker `slot` (at most `HolderCell.maxSlot`) holds `key` in `tier`. Returns
    /// true for a new page, false when the worker already held it (its tier is then updated).
    @discardableResult
    mutating func insert(_ key: PrefixKey, worker slot: Int, tier: CacheTier) -> Bool {
        ensureSlot(slot)
        let indexKey = IndexKey(key)
        let hash = indexKey.hash(seed: seed)
        let cell = HolderCell(slot: slot, tier: tier)
        if let (_, entry) = find(indexKey, hash: hash) {
            if entries[entry].first.slot == slot {
                count(entries[entry].first, -1)
                entries[entry].first = cell
                count(cell, +1)
                return false
            }
            if entries[entry].others != 0,
                let old = slabs.replace(slot: slot, with: cell, in: entries[entry].others - 1)
            {
                count(old, -1)
                count(cell, +1)
                return false
            }
            let handle = slabs.append(cell, to: entries[entry].others == 0 ? nil : entries[entry].others - 1)
            entries[entry].others = handle + 1
            count(cell, +1)
            pageCount += 1
            return true
        }
        if (keyCount + 1) * 100 > buckets.count * Self.maxLoadPercent { grow() }
        let entry: Int
        if let free = freeEntries.popLast() {
            entry = Int(free)
            entries[entry] = Entry(key: indexKey, first: cell, others: 0)
        } else {
            if entries.count == entries.capacity { entries.reserveCapacity(entries.count + entries.count / 2 + 1024) }
            entry = entries.count
            entries.append(Entry(key: indexKey, first: cell, others: 0))
        }
        place(entry: entry, hash: hash)
        keyCount += 1
        pageCount += 1
        count(cell, +1)
        return true
    }

    /// Records that worker `slot` no longer holds `key`. Returns whether it was recorded as
    /// holding it.
    @discardableResult
    mutating func remove(_ key: PrefixKey, worker slot: Int) -> Bool {
        let indexKey = IndexKey(key)
        guard let (bucket, entry) = find(indexKey, hash: indexKey.hash(seed: seed)) else { return false }
        return removeHolder(slot, entry: entry, bucket: bucket)
    }

    /// Forgets every page of worker `slot`; returns how many there were.
    @discardableResult
    mutating func removeAll(worker slot: Int) -> Int {
        guard pages(of: slot) > 0 else { return 0 }
        var removed = 0
        for entry in entries.indices where entries[entry].first.isHolder {
            if holds(entry: entry, slot: slot), removeHolder(slot, entry: entry, bucket: nil) { removed += 1 }
        }
        return removed
    }

    /// The keys worker `slot` holds, in any tier, except those some other holder `keep` accepts also
    /// holds (a draining worker's pages no other live worker has). One pass over the entries.
    func keys(heldBy slot: Int, notHeldByAny keep: (Int) -> Bool) -> [PrefixKey] {
        guard pages(of: slot) > 0 else { return [] }
        var keys: [PrefixKey] = []
        for entry in entries.indices where entries[entry].first.isHolder && holds(entry: entry, slot: slot) {
            var elsewhere = false
            forEachHolder(of: entry) { cell in
                if cell.slot != slot, keep(cell.slot) { elsewhere = true }
            }
            if !elsewhere, let key = entries[entry].key.prefixKey { keys.append(key) }
        }
        return keys
    }

    /// Forgets every page of worker `slot`; returns the keys it held that are still held, by fewer
    /// than `threshold` workers (the keys that lost a replica).
    mutating func removeAll(worker slot: Int, returningKeysHeldByFewerThan threshold: Int) -> [PrefixKey] {
        guard pages(of: slot) > 0 else { return [] }
        var short: [PrefixKey] = []
        for entry in entries.indices where entries[entry].first.isHolder {
            guard holds(entry: entry, slot: slot), removeHolder(slot, entry: entry, bucket: nil),
                entries[entry].first.isHolder
            else { continue }
            var holders = 0
            forEachHolder(of: entry) { _ in holders += 1 }
            if holders < threshold, let key = entries[entry].key.prefixKey { short.append(key) }
        }
        return short
    }

    /// Replaces what is known of worker `slot` by `keys`, all in `tier` (a snapshot). Returns how
    /// many pages were known and are not in `keys` (stale, now gone) and how many of `keys` are new.
    mutating func replace(worker slot: Int, with keys: [PrefixKey], tier: CacheTier) -> (stale: Int, added: Int) {
        let before = pages(of: slot)
        var kept = 0
        if before > 0 {
            var seen = Set<IndexKey>()
            for key in keys where seen.insert(IndexKey(key)).inserted && self.tier(of: key, slot: slot) != nil {
                kept += 1
            }
        }
        removeAll(worker: slot)
        var added = 0
        for key in keys where insert(key, worker: slot, tier: tier) { added += 1 }
        return (before - kept, added - kept)
    }

    // MARK: Placement

    /// For every worker holding `keys[0]`, how many of the leading keys it holds without a break,
    /// and their tier-weighted credit. Workers holding no leading page are left out; the order is
    /// unspecified.
    mutating func leadingRuns(of keys: [PrefixKey], credits: TierCredits) -> [PrefixHolding] {
        var source = StoredPrefixKeys(keys)
        return leadingRuns(credits: credits, keys: &source)
    }

    /// `leadingRuns(of:credits:)` over keys taken from `source` as they are needed: asks
    /// for further keys only while some worker still holds every key so far, so a caller computing
    /// keys (SHA-256) computes at most three past the longest run (see below). Reads each key's
    /// holders once, so a key held by every worker costs one pass over them.
    ///
    /// A key is first looked for in the entry after the previous key's: the keys of one event lie
    /// in consecutive entries, and one found there needs no hash and no bucket. Keys are asked for
    /// two ahead of the one looked up, and a lookup through the table has its two cache misses
    /// (its bucket, then its entry) prefetched one key apart: they overlap the caller's work on
    /// the keys ahead instead of stalling. A source that `readsAheadFreely` (a cache) is asked for
    /// the two keys after the first while the first is looked up. Keys ahead are asked for with
    /// `nextIfKnown`: a source that knows some keys without computing them (a cache) computes a
    /// key only when it is the next to look up, so at most one past the longest run.
    mutating func leadingRuns<Source: PrefixKeySource>(
        credits: TierCredits,
        keys source: inout Source
    ) -> [PrefixHolding] {
        guard let firstKey = source.next() else { return [] }
        let firstIndexKey = IndexKey(firstKey)
        let firstHash = firstIndexKey.hash(seed: seed)
        // Up to three keys asked for and not yet looked up, oldest first, in a ring.
        var ahead = LookaheadRing()
        if source.readsAheadFreely {
            // While the first key's bucket and entry come, the next keys are taken from the source
            // (a cache), without their buckets: they likely lie in the entries after the first.
            prefetchBucket(firstHash)
            while ahead.count < LookaheadRing.capacity - 1, let key = source.nextIfKnown() {
                let indexKey = IndexKey(key)
                ahead.push(indexKey, hash: indexKey.hash(seed: seed), entry: -1)
            }
        }
        guard let (_, firstEntry) = find(firstIndexKey, hash: firstHash) else { return [] }
        // The entry of the newest key asked for, -1 when not known. The keys of one event lie in
        // consecutive entries, so a prompt's next key is first looked for in the entry after its
        // previous key's: found there, it needs neither its hash nor its bucket.
        var newest = ahead.resolve(after: firstEntry) { key, candidate in isEntry(candidate, of: key) }
        ahead.forEachUnknown { hash in prefetchBucket(hash) }
        var runs: [PrefixHolding] = []
        forEachHolder(of: firstEntry) { cell in
            runs.append(
                PrefixHolding(
                    slot: cell.slot,
                    pages: 1,
                    hotPages: cell.tier == .hot ? 1 : 0,
                    credit: credits.credit(cell.tier)
                )
            )
        }
        var active = runs.count
        // The scratch arrays are moved out while in use, so that reading the index's holders does
        // not overlap a write to the index (which would make Swift copy it).
        var stamps = self.stamps
        var stampTiers = self.stampTiers
        self.stamps = []
        self.stampTiers = []
        defer {
            self.stamps = stamps
            self.stampTiers = stampTiers
        }
        var exhausted = false
        while active > 0 {
            while !exhausted, ahead.count < LookaheadRing.capacity {
                // Only the key to look up next may have to be computed: keys further ahead are
                // taken when the source knows them (a cache), so that a key the search may never
                // need is hashed only once the index has found the page before it.
                let next = ahead.count == 0 ? source.next() : source.nextIfKnown()
                guard let key = next else {
                    if ahead.count == 0 { exhausted = true }
                    break
                }
                let indexKey = IndexKey(key)
                if newest >= 0, isEntry(newest + 1, of: indexKey) {
                    newest += 1
                    ahead.push(indexKey, hash: 0, entry: newest)
                } else {
                    let hash = indexKey.hash(seed: seed)
                    prefetchBucket(hash)
                    ahead.push(indexKey, hash: hash, entry: -1)
                    newest = -1
                }
            }
            if ahead.count > 1, let hash = ahead.secondNeedingEntryPrefetch() { prefetchEntry(hash) }
            guard let item = ahead.pop() else { break }
            var entry = item.entry
            if entry < 0 {
                guard let (_, found) = find(item.key, hash: item.hash) else { break }
                entry = found
                // The keys asked for after it may lie in the entries after it.
                newest = ahead.resolve(after: found) { key, candidate in isEntry(candidate, of: key) }
            }
            stamp &+= 1
            if stamp == 0 {
                for index in stamps.indices { stamps[index] = 0 }
                stamp = 1
            }
            let current = stamp
            forEachHolder(of: entry) { cell in
                stamps[cell.slot] = current
                stampTiers[cell.slot] = cell.tier.rawValue
            }
            var index = 0
            while index < active {
                let slot = runs[index].slot
                if stamps[slot] == current {
                    let tier = CacheTier(rawValue: stampTiers[slot]) ?? .hot
                    runs[index].pages += 1
                    if tier == .hot { runs[index].hotPages += 1 }
                    runs[index].credit += credits.credit(tier)
                    index += 1
                } else {
                    active -= 1
                    runs.swapAt(index, active)
                }
            }
        }
        return runs
    }

    /// Starts bringing the bucket where the probe for `hash` begins towards the core.
    @inline(__always)
    private func prefetchBucket(_ hash: UInt64) {
        buckets.withUnsafeBufferPointer { table in
            guard let base = table.baseAddress else { return }
            CacheLinePrefetch.line(base + (Int(truncatingIfNeeded: hash) & (table.count - 1)))
        }
    }

    /// Reads the bucket where the probe for `hash` begins (prefetched earlier) and, when its tag
    /// matches, starts bringing the entry it names towards the core.
    @inline(__always)
    private func prefetchEntry(_ hash: UInt64) {
        let value = buckets[Int(truncatingIfNeeded: hash) & (buckets.count - 1)]
        guard value != 0, value >> 32 == hash >> 32 else { return }
        let entry = Int(truncatingIfNeeded: value & 0xFFFF_FFFF) - 1
        entries.withUnsafeBufferPointer { entries in
            guard let base = entries.baseAddress, entry < entries.count else { return }
            CacheLinePrefetch.line(UnsafeRawPointer(base + entry))
        }
    }

    // MARK: Table

    /// Whether entry `entry` exists, is in use and is `key`'s.
    @inline(__always)
    private func isEntry(_ entry: Int, of key: IndexKey) -> Bool {
        entries.withUnsafeBufferPointer { entries in
            entry < entries.count && entries[entry].first.isHolder && entries[entry].key == key
        }
    }

    @inline(__always)
    private func find(_ key: IndexKey, hash: UInt64) -> (bucket: Int, entry: Int)? {
        let mask = buckets.count - 1
        let tag = hash >> 32
        var bucket = Int(truncatingIfNeeded: hash) & mask
        return buckets.withUnsafeBufferPointer { table in
            entries.withUnsafeBufferPointer { entries in
                while true {
                    let value = table[bucket]
                    if value == 0 { return nil }
                    if value >> 32 == tag {
                        let entry = Int(truncatingIfNeeded: value & 0xFFFF_FFFF) - 1
                        if entries[entry].key == key { return (bucket, entry) }
                    }
                    bucket = (bucket + 1) & mask
                }
            }
        }
    }

    /// Puts entry `entry`, whose key hashes to `hash`, in the first free bucket from its home.
    private mutating func place(entry: Int, hash: UInt64) {
        let mask = buckets.count - 1
        var bucket = Int(truncatingIfNeeded: hash) & mask
        while buckets[bucket] != 0 { bucket = (bucket + 1) & mask }
        buckets[bucket] = (hash >> 32) << 32 | UInt64(entry + 1)
    }

    private mutating func grow() {
        buckets = Array(repeating: 0, count: buckets.count * 2)
        for entry in entries.indices where entries[entry].first.isHolder {
            place(entry: entry, hash: entries[entry].key.hash(seed: seed))
        }
    }

    /// Empties bucket `bucket` and shifts back the entries after it that may move closer to
    /// their home, so that every probe sequence stays unbroken.
    private mutating func deleteBucket(_ bucket: Int) {
        let mask = buckets.count - 1
        var hole = bucket
        var next = bucket
        while true {
            next = (next + 1) & mask
            let value = buckets[next]
            if value == 0 { break }
            let entry = Int(truncatingIfNeeded: value & 0xFFFF_FFFF) - 1
            let home = Int(truncatingIfNeeded: entries[entry].key.hash(seed: seed)) & mask
            // The entry at `next` stays when its home lies cyclically in (hole, next].
            let stays = hole <= next ? (hole < home && home <= next) : (home > hole || home <= next)
            if !stays {
                buckets[hole] = value
                hole = next
            }
        }
        buckets[hole] = 0
    }

    private func bucket(of entry: Int) -> Int {
        let mask = buckets.count - 1
        var bucket = Int(truncatingIfNeeded: entries[entry].key.hash(seed: seed)) & mask
        while Int(truncatingIfNeeded: buckets[bucket] & 0xFFFF_FFFF) - 1 != entry { bucket = (bucket + 1) & mask }
        return bucket
    }

    // MARK: Holders

    @inline(__always)
    private func forEachHolder(of entry: Int, _ body: (HolderCell) -> Void) {
        body(entries[entry].first)
        let others = entries[entry].others
        guard others != 0 else { return }
        slabs.withCells(others - 1) { cells in
            for bits in cells { body(HolderCellBits(bits).cell) }
        }
    }

    private func holds(entry: Int, slot: Int) -> Bool {
        if entries[entry].first.slot == slot { return true }
        let others = entries[entry].others
        guard others != 0 else { return false }
        return slabs.withCells(others - 1) { cells in cells.contains { HolderCellBits($0).slot == slot } }
    }

    /// Removes worker `slot` from entry `entry`; frees the entry (and its bucket, found when
    /// `bucket` is nil) when it was the last holder.
    private mutating func removeHolder(_ slot: Int, entry: Int, bucket: Int?) -> Bool {
        let others = entries[entry].others
        if entries[entry].first.slot == slot {
            count(entries[entry].first, -1)
            pageCount -= 1
            if others != 0 {
                let (cell, rest) = slabs.removeFirst(from: others - 1)
                entries[entry].first = cell
                entries[entry].others = rest.map { $0 + 1 } ?? 0
                return true
            }
            deleteBucket(bucket ?? self.bucket(of: entry))
            entries[entry].first = .empty
            freeEntries.append(UInt32(entry))
            keyCount -= 1
            return true
        }
        guard others != 0 else { return false }
        let (removed, rest) = slabs.remove(slot: slot, from: others - 1)
        guard let removed else { return false }
        entries[entry].others = rest.map { $0 + 1 } ?? 0
        count(removed, -1)
        pageCount -= 1
        return true
    }

    private mutating func count(_ cell: HolderCell, _ delta: Int) {
        tierCounts[cell.slot * Self.tierCount + Int(cell.tier.rawValue)] += delta
    }

    private mutating func ensureSlot(_ slot: Int) {
        guard slot >= stamps.count else { return }
        let slots = max(slot + 1, stamps.count * 2, 64)
        stamps.append(contentsOf: repeatElement(0, count: slots - stamps.count))
        stampTiers.append(contentsOf: repeatElement(0, count: slots - stampTiers.count))
        tierCounts.append(contentsOf: repeatElement(0, count: slots * Self.tierCount - tierCounts.count))
    }
}

/// The keys `PrefixIndex.leadingRuns` has asked for and not yet looked up (at most three), oldest
/// first, held inline: a placement allocates nothing for them. A key's entry may already be known
/// (found next to the previous key's entry) before it is looked up.
struct LookaheadRing {
    /// Keys it holds at most.
    static let capacity = 3

    /// One key waiting to be looked up.
    struct Item {
        /// The key.
        var key: IndexKey
        /// Its hash (meaningful only while its entry is unknown).
        var hash: UInt64
        /// Its entry, or -1 while unknown.
        var entry: Int
        /// Whether its entry's line has been prefetched through its bucket.
        var entryPrefetched: Bool
    }

    private var items: (Item, Item, Item)
    private var start = 0
    /// Keys held.
    private(set) var count = 0

    /// An empty ring.
    init() {
        let empty = Item(key: IndexKey(w0: 0, w1: 0, w2: 0, w3: 0), hash: 0, entry: -1, entryPrefetched: false)
        items = (empty, empty, empty)
    }

    /// The item `offset` places after the oldest.
    private subscript(offset offset: Int) -> Item {
        get {
            switch (start + offset) % Self.capacity {
            case 0: items.0
            case 1: items.1
            default: items.2
            }
        }
        set {
            switch (start + offset) % Self.capacity {
            case 0: items.0 = newValue
            case 1: items.1 = newValue
            default: items.2 = newValue
            }
        }
    }

    /// Adds `key` as the newest, with its entry when known (`entry` ≥ 0) or else its hash; ignored
    /// when full.
    mutating func push(_ key: IndexKey, hash: UInt64, entry: Int) {
        guard count < Self.capacity else { return }
        self[offset: count] = Item(key: key, hash: hash, entry: entry, entryPrefetched: entry >= 0)
        count += 1
    }

    /// The hash of the second-oldest key if its entry is unknown and has not been prefetched yet
    /// (and marks it prefetched); `nil` otherwise.
    mutating func secondNeedingEntryPrefetch() -> UInt64? {
        guard count > 1 else { return nil }
        var item = self[offset: 1]
        guard !item.entryPrefetched else { return nil }
        item.entryPrefetched = true
        self[offset: 1] = item
        return item.hash
    }

    /// Removes and returns the oldest key, its hash and its entry (-1 when unknown).
    mutating func pop() -> Item? {
        guard count > 0 else { return nil }
        let item = self[offset: 0]
        start = (start + 1) % Self.capacity
        count -= 1
        return item
    }

    /// Calls `body` with the hash of every key held whose entry is unknown, oldest first.
    func forEachUnknown(_ body: (UInt64) -> Void) {
        for offset in 0..<count where self[offset: offset].entry < 0 { body(self[offset: offset].hash) }
    }

    /// Gives the keys held, oldest first, the entries after `entry` while `holds(key, entry)` says
    /// that entry holds the key, stopping at the first that does not; returns the newest key's
    /// entry when every key's entry is then known (`entry` itself when the ring is empty), else -1.
    mutating func resolve(after entry: Int, _ holds: (IndexKey, Int) -> Bool) -> Int {
        var previous = entry
        for offset in 0..<count {
            var item = self[offset: offset]
            if item.entry < 0 {
                guard holds(item.key, previous + 1) else { return -1 }
                item.entry = previous + 1
                item.entryPrefetched = true
                self[offset: offset] = item
            }
            previous = item.entry
        }
        return previous
    }
}

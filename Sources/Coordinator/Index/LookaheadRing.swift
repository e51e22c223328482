/// The keys `PrefixIndex.leadingRuns` has asked for and not yet looked up (at most three), oldest
/// first, held inline: a placement allocates nothing for them.
struct LookaheadRing {
    /// Keys it holds at most.
    static let capacity = 3

    private var keys: (IndexKey, IndexKey, IndexKey)
    private var hashes: (UInt64, UInt64, UInt64) = (0, 0, 0)
    private var entryPrefetched: (Bool, Bool, Bool) = (false, false, false)
    private var start = 0
    /// Keys held.
    private(set) var count = 0

    /// An empty ring.
    init() {
        let zero = IndexKey(w0: 0, w1: 0, w2: 0, w3: 0)
        keys = (zero, zero, zero)
    }

    /// Adds `key` (with its hash) as the newest; ignored when full.
    mutating func push(_ key: IndexKey, hash: UInt64) {
        guard count < Self.capacity else { return }
        let slot = (start + count) % Self.capacity
        switch slot {
        case 0:
            keys.0 = key
            hashes.0 = hash
            entryPrefetched.0 = false
        case 1:
            keys.1 = key
            hashes.1 = hash
            entryPrefetched.1 = false
        default:
            keys.2 = key
            hashes.2 = hash
            entryPrefetched.2 = false
        }
        count += 1
    }

    /// The hash of the second-oldest key if its entry has not been prefetched yet (and marks it
    /// prefetched); `nil` otherwise.
    mutating func secondNeedingEntryPrefetch() -> UInt64? {
        guard count > 1 else { return nil }
        switch (start + 1) % Self.capacity {
        case 0:
            guard !entryPrefetched.0 else { return nil }
            entryPrefetched.0 = true
            return hashes.0
        case 1:
            guard !entryPrefetched.1 else { return nil }
            entryPrefetched.1 = true
            return hashes.1
        default:
            guard !entryPrefetched.2 else { return nil }
            entryPrefetched.2 = true
            return hashes.2
        }
    }

    /// Removes and returns the oldest key and its hash.
    mutating func pop() -> (IndexKey, UInt64)? {
        guard count > 0 else { return nil }
        let result: (IndexKey, UInt64)
        switch start {
        case 0: result = (keys.0, hashes.0)
        case 1: result = (keys.1, hashes.1)
        default: result = (keys.2, hashes.2)
        }
        start = (start + 1) % Self.capacity
        count -= 1
        return result
    }
}

import CacheProtocol

/// Pages in RAM in the KV page encoding (`PageCodec`: filtered, LZ4-compressed where that pays,
/// checksummed), within a byte budget. When a new page does not fit, the least recently used pages
/// leave (returned as an overflow for the next tier); a page larger than the whole budget passes
/// straight through.
struct CompressedMemoryTier: Sendable {
    /// Most bytes of encoded pages held.
    let capacity: Int
    private var pages: [PrefixKey: [UInt8]] = [:]
    private var order = KeyLRU<PrefixKey>()
    /// Counters of this tier; the chain, which decodes what `take` returns, counts hits and misses.
    var statistics = TierStatistics()

    /// An empty tier of `capacity` bytes.
    init(capacity: Int) throws(TierError) {
        guard capacity > 0 else { throw .invalidCapacity(tier: "compressed", bytes: capacity) }
        self.capacity = capacity
    }

    /// Whether the tier holds `key`.
    func contains(_ key: PrefixKey) -> Bool { pages[key] != nil }

    /// Keys held, least recently used first.
    var keys: [PrefixKey] { order.keysInOrder }

    /// Stores `page` (replacing an older copy under its key) as the most recently used page and
    /// returns what had to leave to make room, least recently used first.
    mutating func insert(_ page: EncodedPage) -> TierOverflow {
        _ = remove(page.key)
        var overflow = TierOverflow()
        guard page.bytes.count <= capacity else {
            statistics.movedDown += 1
            overflow.pages.append(page)
            return overflow
        }
        while statistics.bytes + page.bytes.count > capacity, let victim = order.leastRecent,
            let bytes = take(victim)
        {
            statistics.movedDown += 1
            overflow.pages.append(EncodedPage(key: victim, bytes: bytes))
        }
        pages[page.key] = page.bytes
        order.touch(page.key)
        statistics.recordIn(bytes: page.bytes.count)
        return overflow
    }

    /// Removes `key` and returns its encoded page.
    mutating func take(_ key: PrefixKey) -> [UInt8]? {
        guard let bytes = pages.removeValue(forKey: key) else { return nil }
        order.remove(key)
        statistics.recordOut(bytes: bytes.count)
        return bytes
    }

    /// Removes `key`; returns whether it was held.
    mutating func remove(_ key: PrefixKey) -> Bool {
        take(key) != nil
    }
}

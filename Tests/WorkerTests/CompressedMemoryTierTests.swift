import CacheProtocol
import Kernels
import Testing

@testable import Worker

@Suite("Compressed memory tier")
struct CompressedMemoryTierTests {
    @Test("a page taken back is the page put, bit for bit", arguments: [KVStorageType.f16, .bf16, .int8])
    func roundTrip(storage: KVStorageType) throws {
        let codec = PageCodec()
        let page = try randomPage(storage, seed: 1)
        var tier = try CompressedMemoryTier(capacity: 1 << 20)
        let encoded = codec.encode(page)
        #expect(tier.insert(EncodedPage(key: tierKey(1), bytes: encoded)).pages.isEmpty)
        #expect(tier.contains(tierKey(1)))
        #expect(tier.statistics.pages == 1)
        #expect(tier.statistics.bytes == encoded.count)
        let takenback = tier.take(tierKey(1))
        let back = try #require(takenback)
        #expect(try codec.decode(back) == page)
        #expect(!tier.contains(tierKey(1)))
        #expect(tier.take(tierKey(1)) == nil)
        #expect(tier.statistics.pages == 0)
        #expect(tier.statistics.bytes == 0)
    }

    @Test("when full, the least recently used pages leave first; an oversize page passes through")
    func lruOverflow() throws {
        let page = { (n: Int) in EncodedPage(key: tierKey(n), bytes: [UInt8](repeating: UInt8(n), count: 100)) }
        var tier = try CompressedMemoryTier(capacity: 300)
        for n in 0..<3 { #expect(tier.insert(page(n)).pages.isEmpty) }
        #expect(tier.take(tierKey(0)) != nil)
        #expect(tier.insert(page(0)).pages.isEmpty)
        let overflow = tier.insert(page(3))
        #expect(overflow.pages == [page(1)])
        #expect(tier.keys == [tierKey(2), tierKey(0), tierKey(3)])
        let big = EncodedPage(key: tierKey(9), bytes: [UInt8](repeating: 9, count: 301))
        #expect(tier.insert(big).pages == [big])
        #expect(tier.statistics.pages == 3)
        #expect(tier.statistics.bytes == 300)
        #expect(tier.statistics.movedDown == 2)
        #expect(throws: TierError.invalidCapacity(tier: "compressed", bytes: 0)) {
            try CompressedMemoryTier(capacity: 0)
        }
    }
}

@Suite("Key LRU order")
struct KeyLRUTests {
    @Test("touch moves a key to the most recent end; remove unlinks it from any position")
    func order() {
        var lru = KeyLRU<Int>()
        #expect(lru.leastRecent == nil)
        for key in 1...4 { lru.touch(key) }
        lru.touch(2)
        #expect(lru.keysInOrder == [1, 3, 4, 2])
        lru.remove(3)
        lru.remove(1)
        lru.remove(9)
        #expect(lru.keysInOrder == [4, 2])
        #expect(lru.leastRecent == 4)
        lru.remove(2)
        lru.remove(4)
        #expect(lru.keysInOrder.isEmpty)
        #expect(lru.leastRecent == nil)
        lru.touch(5)
        #expect(lru.keysInOrder == [5])
    }
}

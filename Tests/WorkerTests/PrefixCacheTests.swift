import Testing

@testable import Worker

@Suite("Prefix cache: lookup, LRU order, events and snapshot")
struct PrefixCacheTests {
    @Test("the longest cached prefix stops at the first miss")
    func longestPrefix() throws {
        var cache = PrefixCache(pageCount: 8)
        cache.insert(key: try testKey(0), page: 5, isIdle: true)
        cache.insert(key: try testKey(1), page: 2, isIdle: true)
        cache.insert(key: try testKey(3), page: 7, isIdle: true)
        #expect(cache.longestPrefix(of: try (0..<4).map(testKey)) == [5, 2])
        #expect(cache.longestPrefix(of: try [testKey(9), testKey(0)]).isEmpty)
        #expect(cache.longestPrefix(of: try [testKey(0), testKey(1), testKey(0)]) == [5, 2])
        #expect(cache.page(for: try testKey(3)) == 7)
        #expect(cache.key(of: 2) == (try testKey(1)))
    }

    @Test("idle pages leave in least-recently-used order; busy pages are not candidates")
    func lruOrder() throws {
        var cache = PrefixCache(pageCount: 8)
        for (n, page) in [(0, 4), (1, 1), (2, 6)] { cache.insert(key: try testKey(n), page: page, isIdle: true) }
        cache.insert(key: try testKey(3), page: 0, isIdle: false)
        #expect(cache.idlePagesInOrder == [4, 1, 6])
        cache.setIdle(4, false)
        cache.setIdle(4, true)
        #expect(cache.idlePagesInOrder == [1, 6, 4])
        cache.setIdle(1, false)
        #expect(cache.evictionCandidate?.page == 6)
        #expect(cache.evictionCandidate?.key == (try testKey(2)))
        cache.setIdle(3, true)
        #expect(cache.idleCount == 2)
        cache.remove(key: try testKey(2))
        cache.remove(key: try testKey(0))
        #expect(cache.evictionCandidate == nil)
        cache.setIdle(0, true)
        #expect(cache.idlePagesInOrder == [0])
    }

    @Test("events are numbered without gaps and the snapshot matches them")
    func events() throws {
        var cache = PrefixCache(pageCount: 4)
        #expect(cache.insert(key: try testKey(0), page: 0, isIdle: true))
        #expect(cache.insert(key: try testKey(1), page: 1, isIdle: false))
        #expect(!cache.insert(key: try testKey(1), page: 2, isIdle: true))
        #expect(!cache.insert(key: try testKey(2), page: 0, isIdle: true))
        #expect(cache.remove(key: try testKey(0)) == 0)
        #expect(cache.remove(key: try testKey(0)) == nil)
        let first = cache.takeEvents()
        #expect(first.map(\.sequenceNumber) == [1, 2, 3])
        #expect(first.map(\.kind) == [.stored, .stored, .removed])
        #expect(first.map(\.key) == (try [testKey(0), testKey(1), testKey(0)]))
        #expect(cache.takeEvents().isEmpty)
        cache.insert(key: try testKey(5), page: 3, isIdle: true)
        #expect(cache.takeEvents().map(\.sequenceNumber) == [4])
        let snapshot = cache.snapshot()
        #expect(snapshot.sequenceNumber == 4)
        #expect(snapshot.keys == Set(try [testKey(1), testKey(5)]))
    }
}

import Kernels
import Testing

@testable import Worker

@Suite("Sequence manager: block tables, prefix reuse, copy-on-write, eviction")
struct SequenceManagerTests {
    @Test("appends cross page boundaries and read back what was written, layer by layer")
    func appendAcrossPages() throws {
        var manager = try SequenceManager(geometry: try smallGeometry(), pageCount: 8, evictionPolicy: .drop)
        let (id, cached) = try manager.open(prefixKeys: [])
        #expect(cached == 0)
        var random = SplitMix64(seed: 1)
        let width = manager.geometry.tokenWidth
        let k1 = random.floats(3 * width, in: -4..<4)
        let v1 = random.floats(3 * width, in: -4..<4)
        let k2 = random.floats(6 * width, in: -4..<4)
        let v2 = random.floats(6 * width, in: -4..<4)
        #expect(try manager.append(id, layer: 0, keys: k1, values: v1).isEmpty)
        #expect(try manager.append(id, layer: 0, keys: k2, values: v2).isEmpty)
        var state = try manager.sequence(id)
        #expect(state.pages.count == 3)
        #expect(state.layerLengths == [9, 0])
        #expect(state.length == 0)
        #expect(manager.allocator.freeCount == 5)

        let k3 = random.floats(9 * width, in: -4..<4)
        let v3 = random.floats(9 * width, in: -4..<4)
        _ = try manager.append(id, layer: 1, keys: k3, values: v3)
        state = try manager.sequence(id)
        #expect(state.pages.count == 3)
        #expect(state.length == 9)
        let layer0 = try readTokens(manager, id, layer: 0, count: 9)
        #expect(layer0.keys == k1 + k2)
        #expect(layer0.values == v1 + v2)
        let layer1 = try readTokens(manager, id, layer: 1, count: 9)
        #expect(layer1.keys == k3)
        #expect(layer1.values == v3)
    }

    @Test("bad appends are typed errors that change nothing")
    func appendValidation() throws {
        var manager = try SequenceManager(geometry: try smallGeometry(), pageCount: 2, evictionPolicy: .drop)
        let (id, _) = try manager.open(prefixKeys: [])
        let token = [Float](repeating: 1, count: 8)
        #expect(throws: StorageError.layerOutOfRange(layer: 2, layers: 2)) {
            try manager.append(id, layer: 2, keys: token, values: token)
        }
        #expect(throws: StorageError.layerOutOfRange(layer: -1, layers: 2)) {
            try manager.append(id, layer: -1, keys: token, values: token)
        }
        #expect(throws: StorageError.shapeMismatch(what: "keys", expected: 8, actual: 9)) {
            try manager.append(id, layer: 0, keys: token + [1], values: token + [1])
        }
        #expect(throws: StorageError.shapeMismatch(what: "keys", expected: 8, actual: 0)) {
            try manager.append(id, layer: 0, keys: [], values: [])
        }
        #expect(throws: StorageError.shapeMismatch(what: "values", expected: 8, actual: 16)) {
            try manager.append(id, layer: 0, keys: token, values: token + token)
        }
        let unknown = SequenceID(rawValue: 99)
        #expect(throws: StorageError.unknownSequence(unknown)) {
            try manager.append(unknown, layer: 0, keys: token, values: token)
        }
        #expect(throws: StorageError.unknownSequence(unknown)) { try manager.free(unknown) }
        #expect(throws: StorageError.capacity(needed: 3, available: 2)) {
            try manager.append(
                id,
                layer: 0,
                keys: [Float](repeating: 0, count: 9 * 8),
                values: [Float](repeating: 0, count: 9 * 8)
            )
        }
        #expect(try manager.sequence(id).layerLengths == [0, 0])
        #expect(try manager.sequence(id).pages.isEmpty)
        #expect(manager.allocator.freeCount == 2)
    }

    @Test("truncation releases pages past the new length and later appends overwrite the tail")
    func truncate() throws {
        var manager = try SequenceManager(geometry: try smallGeometry(), pageCount: 4, evictionPolicy: .drop)
        let (id, _) = try manager.open(prefixKeys: [])
        var random = SplitMix64(seed: 2)
        let first = try appendRandom(&manager, id, tokens: 9, random: &random)
        #expect(manager.allocator.freeCount == 1)
        #expect(throws: StorageError.truncateBeyondLength(id, requested: 10, length: 9)) {
            try manager.truncate(id, to: 10)
        }
        try manager.truncate(id, to: 5)
        #expect(try manager.sequence(id).pages.count == 2)
        #expect(manager.allocator.freeCount == 2)
        let second = try appendRandom(&manager, id, tokens: 2, random: &random)
        let width = manager.geometry.tokenWidth
        for layer in 0..<2 {
            let read = try readTokens(manager, id, layer: layer, count: 7)
            #expect(read.keys == Array(first[layer].keys.prefix(5 * width)) + second[layer].keys)
            #expect(read.values == Array(first[layer].values.prefix(5 * width)) + second[layer].values)
        }
        try manager.truncate(id, to: 0)
        #expect(try manager.sequence(id).pages.isEmpty)
        #expect(manager.allocator.freeCount == 4)
    }

    @Test("a sequence opened on a committed prompt shares its cached pages")
    func seededPrefix() throws {
        var manager = try SequenceManager(geometry: try smallGeometry(.f16), pageCount: 8, evictionPolicy: .drop)
        let (first, _) = try manager.open(prefixKeys: [])
        var random = SplitMix64(seed: 4)
        let written = try appendRandom(&manager, first, tokens: 10, random: &random)
        let keys = try (0..<3).map(testKey)
        #expect(throws: StorageError.tooManyPageKeys(first, keys: 3, fullPages: 2)) {
            try manager.commit(first, pageKeys: keys)
        }
        try manager.commit(first, pageKeys: Array(keys.prefix(2)))
        let pages = try manager.sequence(first).pages
        #expect(try manager.allocator.referenceCount(of: pages[0]) == 2)
        try manager.free(first)
        #expect(manager.cache.idlePagesInOrder == Array(pages.prefix(2)))
        #expect(manager.allocator.freeCount == 6)

        let (second, cached) = try manager.open(prefixKeys: keys)
        #expect(cached == 8)
        let state = try manager.sequence(second)
        #expect(state.pages == Array(pages.prefix(2)))
        #expect(state.layerLengths == [8, 8])
        #expect(state.cachedTokens == 8)
        #expect(manager.cache.idleCount == 0)
        #expect(try manager.allocator.referenceCount(of: pages[1]) == 2)
        for layer in 0..<2 {
            let read = try readTokens(manager, second, layer: layer, count: 8)
            let width = manager.geometry.tokenWidth
            let expected = try stored(written[layer].keys.prefix(8 * width), as: .f16)
            #expect(read.keys == expected)
        }
        let events = manager.takeEvents()
        #expect(events.map(\.kind) == [.stored, .stored])
        #expect(events.map(\.key) == Array(keys.prefix(2)))
        #expect(try manager.open(prefixKeys: [testKey(7), keys[0]]).cachedTokens == 0)
    }

    @Test("appending to a fork leaves the other sequence's pages bit-identical; the shared tail is copied once")
    func copyOnWriteFork() throws {
        var manager = try SequenceManager(geometry: try smallGeometry(.bf16), pageCount: 8, evictionPolicy: .drop)
        let (parent, _) = try manager.open(prefixKeys: [])
        var random = SplitMix64(seed: 5)
        try appendRandom(&manager, parent, tokens: 6, random: &random)
        let child = try manager.fork(parent)
        let parentPages = try manager.sequence(parent).pages
        let before = try parentPages.map { try manager.store.exportPage($0) }
        #expect(try manager.sequence(child).pages == parentPages)
        #expect(try manager.sequence(child).layerLengths == [6, 6])

        let width = manager.geometry.tokenWidth
        let free = manager.allocator.freeCount
        _ = try manager.append(
            child,
            layer: 0,
            keys: random.floats(width, in: -4..<4),
            values: random.floats(width, in: -4..<4)
        )
        #expect(manager.allocator.freeCount == free - 1)
        _ = try manager.append(
            child,
            layer: 1,
            keys: random.floats(width, in: -4..<4),
            values: random.floats(width, in: -4..<4)
        )
        #expect(manager.allocator.freeCount == free - 1)

        let childPages = try manager.sequence(child).pages
        #expect(childPages[0] == parentPages[0])
        #expect(childPages[1] != parentPages[1])
        #expect(try parentPages.map { try manager.store.exportPage($0) } == before)
        #expect(try manager.allocator.referenceCount(of: parentPages[1]) == 1)
        for layer in 0..<2 {
            let parentRead = try readTokens(manager, parent, layer: layer, count: 6)
            let childRead = try readTokens(manager, child, layer: layer, count: 6)
            #expect(childRead.keys == parentRead.keys)
            #expect(childRead.values == parentRead.values)
        }
        _ = try appendRandom(&manager, parent, tokens: 1, random: &random)
        #expect(manager.allocator.freeCount == free - 1)
        #expect(try manager.sequence(parent).pages == parentPages)
    }

    @Test("truncating into a cached page and appending copies it and leaves the cache intact")
    func copyOnWriteCachedTail() throws {
        var manager = try SequenceManager(geometry: try smallGeometry(.int8), pageCount: 4, evictionPolicy: .drop)
        let (first, _) = try manager.open(prefixKeys: [])
        var random = SplitMix64(seed: 6)
        try appendRandom(&manager, first, tokens: 8, random: &random)
        let keys = try [testKey(0), testKey(1)]
        try manager.commit(first, pageKeys: keys)
        try manager.free(first)
        let cachedBytes = try keys.map { try manager.cachedPage(key: $0) }

        let (second, _) = try manager.open(prefixKeys: keys)
        try manager.truncate(second, to: 6)
        #expect(try manager.sequence(second).pages.count == 2)
        try appendRandom(&manager, second, tokens: 1, random: &random)
        let pages = try manager.sequence(second).pages
        #expect(pages[0] == manager.cache.page(for: keys[0]))
        #expect(pages[1] != manager.cache.page(for: keys[1]))
        #expect(try keys.map { try manager.cachedPage(key: $0) } == cachedBytes)
        #expect(manager.cache.idlePagesInOrder == [manager.cache.page(for: keys[1])].compactMap { $0 })
    }

    @Test("eviction takes the least recently used idle page, never a referenced one, then reports capacity")
    func eviction() throws {
        let geometry = try smallGeometry(.f32, layers: 1, pageSize: 2)
        var manager = try SequenceManager(geometry: geometry, pageCount: 4, evictionPolicy: .demote)
        var random = SplitMix64(seed: 8)
        var pageOf: [Int] = []
        for n in 0..<3 {
            let (id, _) = try manager.open(prefixKeys: [])
            try appendRandom(&manager, id, tokens: 2, random: &random)
            try manager.commit(id, pageKeys: [try testKey(n)])
            pageOf.append(try manager.sequence(id).pages[0])
            try manager.free(id)
        }
        #expect(manager.cache.idlePagesInOrder == pageOf)
        let (user, reused) = try manager.open(prefixKeys: [try testKey(0)])
        #expect(reused == 2)
        try manager.truncate(user, to: 0)
        #expect(manager.cache.idlePagesInOrder == [pageOf[1], pageOf[2], pageOf[0]])
        let keyOneBytes = try manager.cachedPage(key: try testKey(1))

        let (grower, _) = try manager.open(prefixKeys: [])
        #expect(try appendRandom(&manager, grower, tokens: 2, random: &random)[0].directives.isEmpty)
        let evicted = try appendRandom(&manager, grower, tokens: 4, random: &random)[0].directives
        #expect(evicted.map(\.key) == (try [testKey(1), testKey(2)]))
        #expect(evicted.first == .demote(key: try testKey(1), bytes: try #require(keyOneBytes)))
        #expect(manager.cache.page(for: try testKey(1)) == nil)
        #expect(manager.cache.idlePagesInOrder == [pageOf[0]])

        let (pinned, _) = try manager.open(prefixKeys: [try testKey(0)])
        #expect(throws: StorageError.capacity(needed: 1, available: 0)) {
            try appendRandom(&manager, grower, tokens: 1, random: &random)
        }
        #expect(try manager.sequence(grower).length == 6)
        #expect(manager.cache.page(for: try testKey(0)) == pageOf[0])

        let events = manager.takeEvents()
        #expect(events.map(\.sequenceNumber) == Array(1...UInt64(events.count)))
        #expect(events.filter { $0.kind == .removed }.isEmpty)
        #expect(manager.cache.hotKeys == [try testKey(0)])
        #expect(manager.cache.lowerTierKeys == Set(try [testKey(1), testKey(2)]))
        #expect(manager.cache.snapshot().keys == Set(try [testKey(0), testKey(1), testKey(2)]))
        #expect(manager.cache.snapshot().sequenceNumber == UInt64(events.count))
        manager.lowerTiersLost(keys: [try testKey(2), try testKey(0)])
        #expect(manager.takeEvents().map(\.kind) == [.removed])
        #expect(manager.cache.snapshot().keys == Set(try [testKey(0), testKey(1)]))
        #expect(try manager.sequence(pinned).pages == [pageOf[0]])
    }

    @Test("a demoted page admitted back is bit-identical and serves a prefix hit")
    func admit() throws {
        let geometry = try smallGeometry(.int8, layers: 2, pageSize: 2)
        var manager = try SequenceManager(geometry: geometry, pageCount: 2, evictionPolicy: .demote)
        var random = SplitMix64(seed: 9)
        let (first, _) = try manager.open(prefixKeys: [])
        try appendRandom(&manager, first, tokens: 2, random: &random)
        try manager.commit(first, pageKeys: [try testKey(0)])
        try manager.free(first)
        let (second, _) = try manager.open(prefixKeys: [])
        let directives = try appendRandom(&manager, second, tokens: 4, random: &random).flatMap(\.directives)
        #expect(directives.count == 1)
        guard case let .demote(key, bytes)? = directives.first else {
            Issue.record("expected a demotion, got \(directives)")
            return
        }
        #expect(key == (try testKey(0)))
        #expect(throws: StorageError.capacity(needed: 1, available: 0)) {
            try manager.admit(key: key, pageBytes: bytes)
        }
        try manager.free(second)
        #expect(throws: StorageError.pageBytesLength(expected: geometry.bytesPerPage, actual: 3)) {
            try manager.admit(key: key, pageBytes: [0, 1, 2])
        }
        #expect(try manager.admit(key: key, pageBytes: bytes).isEmpty)
        #expect(try manager.cachedPage(key: key) == bytes)
        #expect(try manager.admit(key: key, pageBytes: bytes).isEmpty)
        #expect(manager.cache.count == 1)
        let (third, cached) = try manager.open(prefixKeys: [key])
        #expect(cached == 2)
        #expect(try manager.sequence(third).pages == [manager.cache.page(for: key)].compactMap { $0 })
        #expect(manager.takeEvents().map(\.kind) == [.stored, .demoted, .promoted])
        #expect(manager.cache.lowerTierKeys.isEmpty)
    }

    @Test("a key removed while held below leaves with one removed event")
    func removeBelow() throws {
        var manager = try SequenceManager(
            geometry: try smallGeometry(.bf16, layers: 1, pageSize: 2),
            pageCount: 1,
            evictionPolicy: .demote
        )
        var random = SplitMix64(seed: 11)
        let (first, _) = try manager.open(prefixKeys: [])
        try appendRandom(&manager, first, tokens: 2, random: &random)
        try manager.commit(first, pageKeys: [try testKey(5)])
        try manager.free(first)
        let (second, _) = try manager.open(prefixKeys: [])
        #expect(
            try appendRandom(&manager, second, tokens: 1, random: &random)[0].directives.map(\.key) == [try testKey(5)]
        )
        #expect(try manager.removeCached(key: try testKey(5)))
        #expect(try !manager.removeCached(key: try testKey(5)))
        #expect(manager.takeEvents().map(\.kind) == [.stored, .demoted, .removed])
        #expect(manager.cache.snapshot().keys.isEmpty)
    }

    @Test("the drop policy evicts without exporting bytes")
    func dropPolicy() throws {
        var manager = try SequenceManager(
            geometry: try smallGeometry(.f16, layers: 1, pageSize: 2),
            pageCount: 1,
            evictionPolicy: .drop
        )
        var random = SplitMix64(seed: 10)
        let (first, _) = try manager.open(prefixKeys: [])
        try appendRandom(&manager, first, tokens: 2, random: &random)
        try manager.commit(first, pageKeys: [try testKey(4)])
        try manager.free(first)
        let (second, _) = try manager.open(prefixKeys: [])
        let directives = try appendRandom(&manager, second, tokens: 1, random: &random)[0].directives
        #expect(directives == [.drop(key: try testKey(4))])
        #expect(manager.cache.count == 0)
    }

    @Test("removing a cached key frees an idle page at once and a used page when its sequence ends")
    func removeCached() throws {
        var manager = try SequenceManager(geometry: try smallGeometry(), pageCount: 4, evictionPolicy: .drop)
        var random = SplitMix64(seed: 12)
        let (first, _) = try manager.open(prefixKeys: [])
        try appendRandom(&manager, first, tokens: 8, random: &random)
        let keys = try [testKey(0), testKey(1)]
        try manager.commit(first, pageKeys: keys)
        let pages = try manager.sequence(first).pages
        try manager.free(first)
        let (reader, _) = try manager.open(prefixKeys: [keys[0]])
        #expect(manager.allocator.freeCount == 2)

        #expect(try manager.removeCached(key: keys[1]))
        #expect(manager.allocator.freeCount == 3)
        #expect(try manager.removeCached(key: keys[0]))
        #expect(manager.allocator.freeCount == 3)
        #expect(try manager.allocator.referenceCount(of: pages[0]) == 1)
        #expect(try !manager.removeCached(key: keys[0]))
        #expect(manager.cache.count == 0)
        #expect(manager.cache.idleCount == 0)
        try manager.free(reader)
        #expect(manager.allocator.freeCount == 4)
        #expect(manager.takeEvents().map(\.kind) == [.stored, .stored, .removed, .removed])
    }
}

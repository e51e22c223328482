import CacheProtocol
import Kernels
import Testing

@testable import Worker

/// Drives a small manager through long random mixes of every operation and checks, after each,
/// every live sequence's data, every cached page's bytes, the reference counts, the LRU, the free
/// list and the event stream against a plain model.
@Suite("Sequence manager under random operations")
struct SequenceManagerRandomTests {
    private struct ModelSequence {
        var keys: [[Float]]
        var values: [[Float]]
        var chain: [PrefixKey]

        /// Tokens written in every layer.
        func length(width: Int) -> Int { (keys.map(\.count).min() ?? 0) / width }

        /// Tokens written in the layer furthest ahead.
        func longest(width: Int) -> Int { (keys.map(\.count).max() ?? 0) / width }
    }

    private struct Harness {
        var manager: SequenceManager
        var random: SplitMix64
        var sequences: [SequenceID: ModelSequence] = [:]
        var pageContent: [PrefixKey: (keys: [[Float]], values: [[Float]])] = [:]
        var pageBytes: [PrefixKey: [UInt8]] = [:]
        var chains: [[PrefixKey]] = []
        var nextKey = 1000
        var lastEvent: UInt64 = 0
        var keySet: Set<PrefixKey> = []
        var demotions = 0
        var refusals = 0
        var seededTokens = 0

        var width: Int { manager.geometry.tokenWidth }
        var pageSize: Int { manager.geometry.pageSize }

        mutating func pick<T>(_ items: [T]) -> T? {
            items.isEmpty ? nil : items[Int(random.next() % UInt64(items.count))]
        }

        mutating func step() throws {
            let live = manager.sequenceIDs
            let choice = random.next() % 20
            switch choice {
            case 0...3 where live.count < 3, 19:
                try open()
            case 4...11:
                guard let id = pick(live), let model = sequences[id] else { return }
                if model.longest(width: width) >= 24 {
                    try commit(id)
                    try manager.free(id)
                    sequences[id] = nil
                } else {
                    try append(id)
                }
            case 12:
                guard let id = pick(live) else { return }
                try truncate(id)
            case 13 where live.count < 4:
                guard let id = pick(live), let model = sequences[id] else { return }
                sequences[try manager.fork(id)] = model
            case 14, 15:
                guard let id = pick(live) else { return }
                try commit(id)
            case 0...3, 16, 17:
                guard let id = pick(live) else { return }
                try manager.free(id)
                sequences[id] = nil
            default:
                guard let key = pick(Array(manager.cache.snapshot().keys)) else { return }
                #expect(try manager.removeCached(key: key))
            }
        }

        mutating func open() throws {
            let chain = pick(chains + [[]]) ?? []
            let (id, cached) = try manager.open(prefixKeys: chain)
            #expect(cached % pageSize == 0)
            seededTokens += cached
            let pages = cached / pageSize
            var model = ModelSequence(
                keys: Array(repeating: [], count: manager.geometry.layers),
                values: Array(repeating: [], count: manager.geometry.layers),
                chain: Array(chain.prefix(pages))
            )
            for key in model.chain {
                let content = try #require(pageContent[key])
                for layer in 0..<manager.geometry.layers {
                    model.keys[layer] += content.keys[layer]
                    model.values[layer] += content.values[layer]
                }
            }
            sequences[id] = model
        }

        /// One model step: every layer is brought to the same new length, 1 to 6 tokens past the
        /// layer furthest ahead.
        mutating func append(_ id: SequenceID) throws {
            guard var model = sequences[id] else { return }
            let target = model.longest(width: width) + 1 + Int(random.next() % 6)
            for layer in 0..<manager.geometry.layers {
                let tokens = target - model.keys[layer].count / width
                let keys = random.floats(tokens * width, in: -4..<4)
                let values = random.floats(tokens * width, in: -4..<4)
                do {
                    let directives = try manager.append(id, layer: layer, keys: keys, values: values)
                    for directive in directives {
                        guard case let .demote(key, bytes) = directive else {
                            Issue.record("the demote policy produced \(directive)")
                            continue
                        }
                        #expect(pageBytes[key] == bytes)
                        demotions += 1
                    }
                    model.keys[layer] += keys
                    model.values[layer] += values
                } catch let error {
                    guard case .capacity = error else { throw error }
                    refusals += 1
                    #expect(try manager.sequence(id).layerLengths[layer] == model.keys[layer].count / width)
                }
            }
            sequences[id] = model
        }

        mutating func truncate(_ id: SequenceID) throws {
            guard var model = sequences[id] else { return }
            let length = Int(random.next() % UInt64(model.length(width: width) + 1))
            try manager.truncate(id, to: length)
            for layer in 0..<manager.geometry.layers {
                model.keys[layer] = Array(model.keys[layer].prefix(length * width))
                model.values[layer] = Array(model.values[layer].prefix(length * width))
            }
            model.chain = Array(model.chain.prefix(length / pageSize))
            sequences[id] = model
        }

        mutating func commit(_ id: SequenceID) throws {
            guard var model = sequences[id] else { return }
            let full = model.length(width: width) / pageSize
            while model.chain.count < full {
                model.chain.append(try testKey(nextKey))
                nextKey += 1
            }
            try manager.commit(id, pageKeys: model.chain)
            let pages = try manager.sequence(id).pages
            for (index, key) in model.chain.enumerated() where pageContent[key] == nil {
                let range = index * pageSize * width..<(index + 1) * pageSize * width
                pageContent[key] = (model.keys.map { Array($0[range]) }, model.values.map { Array($0[range]) })
                if manager.cache.page(for: key) == pages[index] {
                    pageBytes[key] = try manager.store.exportPage(pages[index])
                }
            }
            if !model.chain.isEmpty { chains.append(model.chain) }
            sequences[id] = model
        }

        mutating func check() throws {
            let geometry = manager.geometry
            var expectedReferences = [Int](repeating: 0, count: manager.allocator.pageCount)
            #expect(Set(manager.sequenceIDs) == Set(sequences.keys))
            for (id, model) in sequences {
                let state = try manager.sequence(id)
                #expect(state.pages.count == geometry.pagesNeeded(forTokens: model.longest(width: width)))
                for page in state.pages { expectedReferences[page] += 1 }
                for layer in 0..<geometry.layers {
                    let count = model.keys[layer].count / width
                    #expect(state.layerLengths[layer] == count)
                    let read = try readTokens(manager, id, layer: layer, count: count)
                    #expect(read.keys == model.keys[layer])
                    #expect(read.values == model.values[layer])
                }
            }
            for key in manager.cache.hotKeys {
                let page = try #require(manager.cache.page(for: key))
                expectedReferences[page] += 1
                #expect(try manager.cachedPage(key: key) == pageBytes[key])
            }
            var idle: Set<Int> = []
            for page in 0..<manager.allocator.pageCount {
                #expect(try manager.allocator.referenceCount(of: page) == expectedReferences[page])
                if manager.cache.key(of: page) != nil, expectedReferences[page] == 1 { idle.insert(page) }
            }
            #expect(Set(manager.cache.idlePagesInOrder) == idle)
            #expect(manager.allocator.freeCount == expectedReferences.filter { $0 == 0 }.count)
            for event in manager.takeEvents() {
                #expect(event.sequenceNumber == lastEvent + 1)
                lastEvent = event.sequenceNumber
                switch event.kind {
                case .stored: #expect(keySet.insert(event.key).inserted)
                case .removed: #expect(keySet.remove(event.key) != nil)
                case .demoted, .promoted: #expect(keySet.contains(event.key))
                }
            }
            #expect(manager.cache.snapshot() == CacheSnapshot(sequenceNumber: lastEvent, keys: keySet))
        }
    }

    @Test("every invariant holds after each of many random operations", arguments: [21, 22, 23] as [UInt64])
    func randomOperations(seed: UInt64) throws {
        let geometry = try smallGeometry(.f32, layers: 2, pageSize: 4)
        var harness = Harness(
            manager: try SequenceManager(geometry: geometry, pageCount: 10, evictionPolicy: .demote),
            random: SplitMix64(seed: seed)
        )
        for _ in 0..<500 {
            try harness.step()
            try harness.check()
        }
        #expect(harness.lastEvent > 0)
        #expect(harness.demotions > 0)
        #expect(harness.refusals > 0)
        #expect(harness.seededTokens > 0)
    }
}

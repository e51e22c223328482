import CacheProtocol
import Kernels
import Testing

@testable import Coordinator

/// The prefix index against a plain dictionary model, and its leading-run search.
@Suite("PrefixIndex")
struct PrefixIndexTests {
    static func key(_ value: UInt64) -> PrefixKey {
        var bytes = [UInt8](repeating: 0, count: 32)
        var mixed = value &* 0x9E37_79B9_7F4A_7C15
        for index in 0..<32 {
            bytes[index] = UInt8(truncatingIfNeeded: mixed >> UInt64(8 * (index % 8)))
            if index % 8 == 7 { mixed = mixed &* 0xBF58_476D_1CE4_E5B9 &+ value }
        }
        return PrefixKey(bytes: bytes) ?? PrefixKey(digest: .zero)
    }

    @Test("random inserts, removals, tier changes, worker removals and snapshots agree with a dictionary model")
    func matchesModel() {
        var index = PrefixIndex(seed: 42, expectedKeys: 16)
        var model: [PrefixKey: [Int: CacheTier]] = [:]
        var random = SplitMix64(seed: 9)
        let workers = 40
        for step in 0..<60_000 {
            let key = Self.key(random.next() % 3000)
            let slot = Int(random.next() % UInt64(workers))
            switch random.next() % 100 {
            case 0..<55:
                let tier = CacheTier(rawValue: UInt8(random.next() % 4)) ?? .hot
                let isNew = model[key]?[slot] == nil
                #expect(index.insert(key, worker: slot, tier: tier) == isNew)
                model[key, default: [:]][slot] = tier
            case 55..<98:
                let held = model[key]?[slot] != nil
                #expect(index.remove(key, worker: slot) == held)
                model[key]?[slot] = nil
                if model[key]?.isEmpty == true { model[key] = nil }
            case 98:
                if random.next() % 2 == 0 {
                    let expected = model.values.filter { $0[slot] != nil }.count
                    #expect(index.removeAll(worker: slot) == expected)
                } else {
                    // The keys left with 1 ..< threshold holders come back, as the keys they are.
                    let threshold = Int(random.next() % 4) + 1
                    let expected = Set(
                        model.filter { $0.value[slot] != nil && (1..<threshold).contains($0.value.count - 1) }.keys
                    )
                    let short = index.removeAll(worker: slot, returningKeysHeldByFewerThan: threshold)
                    #expect(short.count == expected.count)
                    #expect(Set(short) == expected)
                }
                for (key, holders) in model where holders[slot] != nil {
                    model[key]?[slot] = nil
                    if model[key]?.isEmpty == true { model[key] = nil }
                }
            default:
                let keys = (0..<Int(random.next() % 50)).map { _ in Self.key(random.next() % 3000) }
                let known = Set(model.filter { $0.value[slot] != nil }.keys)
                let (stale, added) = index.replace(worker: slot, with: keys, tier: .hot)
                #expect(stale == known.subtracting(keys).count)
                #expect(added == Set(keys).subtracting(known).count)
                for (key, holders) in model where holders[slot] != nil {
                    model[key]?[slot] = nil
                    if model[key]?.isEmpty == true { model[key] = nil }
                }
                for key in keys { model[key, default: [:]][slot] = .hot }
            }
            if step % 5000 == 0 || step == 59_999 {
                #expect(index.keyCount == model.count)
                #expect(index.pageCount == model.values.reduce(0) { $0 + $1.count })
                for slot in 0..<workers {
                    for tier in CacheTier.allCases {
                        #expect(index.pages(of: slot, in: tier) == model.values.filter { $0[slot] == tier }.count)
                    }
                }
                for probe in 0..<3000 {
                    let key = Self.key(UInt64(probe))
                    let holders = index.holders(of: key)
                    #expect(holders.count == model[key]?.count ?? 0)
                    for (slot, tier) in holders { #expect(model[key]?[slot] == tier) }
                }
            }
        }
    }

    @Test("leading runs: each holder's unbroken run from the first key, its hot pages and tier-weighted credit")
    func leadingRuns() {
        var index = PrefixIndex(seed: 1)
        let keys = (0..<6).map { Self.key(UInt64(1000 + $0)) }
        for key in keys.prefix(5) { index.insert(key, worker: 0, tier: .hot) }
        for key in keys.prefix(2) { index.insert(key, worker: 1, tier: .disk) }
        for key in keys.dropFirst(1) { index.insert(key, worker: 2, tier: .hot) }
        index.insert(keys[0], worker: 3, tier: .hot)
        index.insert(keys[2], worker: 3, tier: .hot)
        for slot in 10..<300 { index.insert(keys[0], worker: slot, tier: .compressedMemory) }
        let credits = TierCredits()
        let runs = Dictionary(uniqueKeysWithValues: index.leadingRuns(of: keys, credits: credits).map { ($0.slot, $0) })
        #expect(runs[0]?.pages == 5)
        #expect(runs[0]?.hotPages == 5)
        #expect(runs[0]?.credit == 5)
        #expect(runs[1]?.pages == 2)
        #expect(runs[1]?.hotPages == 0)
        #expect(runs[1].map { abs($0.credit - 2 * credits.disk) < 1e-12 } == true)
        #expect(runs[2] == nil)
        #expect(runs[3]?.pages == 1)
        #expect(runs[150]?.pages == 1)
        #expect(runs.count == 3 + 290)
        #expect(index.leadingRuns(of: [Self.key(5)] + keys, credits: credits).isEmpty)
    }

    @Test("a prompt's keys are found in the entries after the previous key's, and by their buckets when not there")
    func adjacentEntries() {
        var index = PrefixIndex(seed: 5)
        let keys = (0..<12).map { Self.key(UInt64(7000 + $0)) }
        // Stored together: consecutive entries.
        for key in keys.prefix(10) { index.insert(key, worker: 1, tier: .hot) }
        func runs(_ keys: [PrefixKey]) -> Set<[Int]> {
            Set(index.leadingRuns(of: keys, credits: TierCredits()).map { [$0.slot, $0.pages] })
        }
        #expect(runs(keys) == [[1, 10]])
        // A freed entry keeps its old key but holds nothing: the run stops there.
        index.remove(keys[5], worker: 1)
        #expect(runs(keys) == [[1, 5]])
        // Another key takes the freed entry; the page comes back in an entry elsewhere.
        index.insert(Self.key(9999), worker: 2, tier: .hot)
        index.insert(keys[5], worker: 1, tier: .hot)
        #expect(runs(keys) == [[1, 10]])
        #expect(runs([Self.key(9999)] + keys) == [[2, 1]])
        // Lazily asked keys give the same runs.
        struct OneByOne: PrefixKeySource {
            var keys: [PrefixKey]
            var asked = 0
            mutating func next() -> PrefixKey? {
                guard asked < keys.count else { return nil }
                asked += 1
                return keys[asked - 1]
            }
        }
        var source = OneByOne(keys: keys)
        #expect(
            Set(index.leadingRuns(credits: TierCredits(), keys: &source).map { [$0.slot, $0.pages] }) == [[1, 10]]
        )
    }

    @Test("keys computed on demand are asked for only a few pages past the longest run, and give the same runs")
    func lazyKeys() {
        struct CountingKeys: PrefixKeySource {
            var keys: [PrefixKey]
            var asked = 0
            mutating func next() -> PrefixKey? {
                guard asked < keys.count else { return nil }
                asked += 1
                return keys[asked - 1]
            }
        }
        var index = PrefixIndex(seed: 3)
        let keys = (0..<64).map { Self.key(UInt64(5000 + $0)) }
        for key in keys.prefix(10) { index.insert(key, worker: 4, tier: .hot) }
        for key in keys.prefix(6) { index.insert(key, worker: 5, tier: .hot) }
        var source = CountingKeys(keys: keys)
        let lazy = index.leadingRuns(credits: TierCredits(), keys: &source)
        #expect(Set(lazy.map { [$0.slot, $0.pages] }) == [[4, 10], [5, 6]])
        #expect(source.asked >= 11)
        #expect(source.asked <= 13)
        var none = CountingKeys(keys: (0..<64).map { Self.key(UInt64(9000 + $0)) })
        #expect(index.leadingRuns(credits: TierCredits(), keys: &none).isEmpty)
        #expect(none.asked == 1)
        #expect(
            Set(index.leadingRuns(of: keys, credits: TierCredits()).map { [$0.slot, $0.pages] }) == [[4, 10], [5, 6]]
        )
    }

    @Test("the event cursor applies in order, ignores repeats, calls a gap, and applies kept events after a snapshot")
    func eventCursor() {
        func event(_ number: UInt64) -> NumberedCacheEvent {
            .held(CacheEvent(workerID: 1, eventSequence: number, kind: .stored, keys: [Self.key(number)]))
        }
        var cursor = WorkerEventCursor(bufferLimit: 100)
        #expect(cursor.receive(event(1)) == .buffered)
        cursor.requested(5)
        #expect(cursor.snapshotApplied(eventSequence: 0).events == [event(1)])
        #expect(cursor.receive(event(2)) == .apply)
        #expect(cursor.receive(event(2)) == .stale)
        #expect(cursor.receive(event(4)) == .gap(expected: 3))
        #expect(cursor.receive(event(5)) == .buffered)
        #expect(cursor.heartbeat(lastEventSequence: 9) == nil)
        cursor.requested(6)
        let after = cursor.snapshotApplied(eventSequence: 4)
        #expect(after.events == [event(5)])
        #expect(!after.broken)
        #expect(cursor.lastApplied == 5)
        #expect(cursor.heartbeat(lastEventSequence: 5) == nil)
        #expect(cursor.heartbeat(lastEventSequence: 7) == .heartbeatMismatch(reported: 7, applied: 5))
        #expect(cursor.receive(event(6)) == .buffered)
        #expect(cursor.receive(event(8)) == .buffered)
        cursor.requested(7)
        let broken = cursor.snapshotApplied(eventSequence: 5)
        #expect(broken.events == [event(6)])
        #expect(broken.broken)
        #expect(cursor.snapshot == .needed)
    }
}

import CacheProtocol
import Testing

@testable import Coordinator

/// The coordinator benchmark on a tiny cluster: every case reported, the index filled as planned,
/// the JSON lines in the documented form.
@Suite("CoordinatorBenchmark")
struct CoordinatorBenchmarkTests {
    @Test("a tiny run reports every case, fills the index with every chain's pages, and prints the three JSON lines")
    func tinyRun() throws {
        var benchmark = CoordinatorBenchmark()
        benchmark.workers = 8
        benchmark.chains = 32
        benchmark.chainPages = 8
        benchmark.promptPages = 8
        benchmark.replicatedEvery = 4
        benchmark.events = 200
        benchmark.keysPerEvent = 3
        benchmark.placements = 150
        benchmark.batch = 64
        var rows: [CoordinatorBenchmark.Row] = []
        try benchmark.run { rows.append($0) }
        #expect(rows.count == 6)
        guard case let .indexMemory(_, reserved, pages, keys, workers)? = rows.first else {
            Issue.record("the first row is not index-memory: \(rows)")
            return
        }
        #expect(pages == 32 * 8 + 8 * 8)
        #expect(keys == 32 * 8)
        #expect(workers == 8)
        #expect(reserved > 0)
        guard case let .events(rate, keysPerEvent, eventPages)? = rows.dropFirst().first else {
            Issue.record("no events row: \(rows)")
            return
        }
        #expect(rate > 0)
        #expect(keysPerEvent == 3)
        #expect(eventPages == pages)
        #expect(rows.contains { if case .placements(let rate, 8, _) = $0 { rate > 0 } else { false } })
        #expect(rows.contains { if case .decisions(let rate, 8) = $0 { rate > 0 } else { false } })
        // Prompts share prefixes with earlier ones, so some of their keys come from the cache.
        #expect(
            rows.contains {
                if case .keyCache(let hitRate, let asked, let computed, let pages, _) = $0 {
                    hitRate > 0 && hitRate < 1 && computed < asked && pages > 0
                } else {
                    false
                }
            }
        )
        let json = rows.compactMap(\.json)
        #expect(json.count == 3)
        #expect(json.contains { $0.hasPrefix("{\"case\": \"events\", \"per_s\": ") && $0.hasSuffix("}") })
        #expect(json.contains { $0.hasPrefix("{\"case\": \"placements\", \"per_s\": ") && $0.hasSuffix("}") })
        #expect(
            json.contains { $0.hasPrefix("{\"case\": \"index-memory\", \"bytes_per_page\": ") && $0.hasSuffix("}") }
        )
    }
}

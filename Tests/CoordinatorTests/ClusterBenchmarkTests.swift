import Foundation
import TestSupport
import Testing

@testable import Coordinator

/// The cluster benchmark on tiny shapes, end to end against real `mfa-coordinator serve` and
/// `mfa-worker` processes.
@Suite("ClusterBenchmark")
struct ClusterBenchmarkTests {
    @Test(
        "a tiny run names the machine, checks the coordinator's answers against the worker's, scales over 1–3 workers and spills one sequence onto a second worker"
    )
    func tinyRun() async throws {
        var benchmark = ClusterBenchmark(
            binaries: try BuiltExecutable.coordinator.url().deletingLastPathComponent()
        )
        let tiny = ClusterBenchmark.Shape(name: "tiny", batch: 3, queryHeads: 4, kvHeads: 2, headDim: 32, tokens: 64)
        benchmark.overheadShapes = [tiny]
        benchmark.scalingShape = tiny
        benchmark.shardTokens = 64
        benchmark.steps = 2
        benchmark.settle = .milliseconds(1)
        var rows: [ClusterBenchmark.Row] = []
        // The run throws when the coordinator's answer differs from the worker's, when an open
        // misses its cached prompt, or when the sharded sequence does not spill exactly once.
        try await benchmark.run { rows.append($0) }
        #expect(rows.count == 6)
        guard case .machine(let cpu) = rows.first else {
            Issue.record("no machine row first: \(rows)")
            return
        }
        #expect(cpu.cores >= 1)
        let scaled = rows.compactMap { row -> Int? in
            if case .scaling(let workers, let rate, _, _) = row, rate > 0 { workers } else { nil }
        }
        #expect(scaled == [1, 2, 3])
        guard case .sharded(let sharded, let single, let difference)? = rows.last else {
            Issue.record("no sharded row last: \(rows)")
            return
        }
        #expect(sharded > 0 && single > 0)
        // Two merged partial states against one pass over the same keys: f32 rounding only.
        #expect(difference < 1e-4)
        for row in rows { #expect(row.json.hasPrefix("{\"case\": ")) }
    }
}

import Foundation
import TestSupport
import Testing

@testable import Coordinator

/// The worker benchmark on a tiny shape, end to end against real `mfa-worker` processes.
@Suite("WorkerBenchmark")
struct WorkerBenchmarkTests {
    @Test(
        "a tiny run reports the overhead ratio, the copy ceiling and the four store cases with their fractions, with the worker's output checked"
    )
    func tinyRun() async throws {
        var benchmark = WorkerBenchmark(workerBinary: try BuiltExecutable.worker.url())
        benchmark.batch = 2
        benchmark.queryHeads = 4
        benchmark.kvHeads = 2
        benchmark.headDim = 32
        benchmark.cachedTokens = 64
        benchmark.steps = 3
        benchmark.settle = .milliseconds(1)
        benchmark.storePages = (small: 8, large: 4)
        benchmark.pagesPerRequest = 3
        benchmark.tierPages = 48
        var rows: [WorkerBenchmark.Row] = []
        try await benchmark.run { rows.append($0) }
        let tierRows = rows.compactMap { row -> TierBenchmark.Row? in
            guard case .tier(let tier) = row else { return nil }
            return tier
        }
        #expect(rows.count == 6 + tierRows.count)
        let directions = Set(
            tierRows.compactMap { row -> String? in
                guard case .move(let direction, let gbps, _, _) = row, gbps > 0 else { return nil }
                return direction
            }
        )
        #expect(
            directions.isSuperset(of: [
                "hot-compressed", "compressed-disk", "compressed-hot", "disk-hot", "hot-remote", "remote-hot",
            ])
        )
        #expect(tierRows.first?.json.hasPrefix("{\"case\":\"tier-ceilings\",\"memcpy_gbps\":") == true)
        guard case .serviceOverhead(let service, let kernel) = rows.first else {
            throw WorkerBenchmark.Mismatch(description: "no overhead row")
        }
        #expect(service > 0 && kernel > 0)
        guard case .ceiling(let memcpy) = rows.dropFirst().first else {
            throw WorkerBenchmark.Mismatch(description: "no ceiling row")
        }
        #expect(memcpy > 0)
        let stores = rows.dropFirst(2).prefix(4)
        #expect(
            stores.map(\.json).allSatisfy { $0.hasPrefix("{\"case\":\"store-") && $0.contains("\"memcpy_fraction\":") }
        )
        for case let .store(_, rate, gbps, fraction) in stores {
            #expect(rate > 0 && gbps > 0)
            #expect(abs(fraction - gbps / memcpy) < 1e-9)
        }
        #expect(rows.first?.json.hasPrefix("{\"case\":\"decode-service-overhead\",\"ratio\":") == true)
    }
}

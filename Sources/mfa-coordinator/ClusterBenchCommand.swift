import ArgumentParser
import Coordinator
import Foundation

/// `mfa-coordinator bench cluster`: the coordinator's added latency per decode step, decode
/// throughput on 1, 2 and 3 workers, and a sequence sharded over two workers, against local
/// clusters of the binaries next to itself.
struct ClusterBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract:
            "Measure local clusters: decode through the coordinator against the worker directly, 1/2/3 workers, one sequence over two shards."
    )

    @Flag(help: "Print one JSON object a line.")
    var json = false
    @Option(help: "Timed steps of each case.")
    var steps = 30

    func validate() throws {
        guard (1...10_000).contains(steps) else { throw ValidationError("--steps must be 1…10000") }
    }

    func run() async throws {
        var benchmark = ClusterBenchmark(
            binaries: try LaunchedWorker.binaryNextToExecutable().deletingLastPathComponent()
        )
        benchmark.steps = steps
        try await benchmark.run { row in print(json ? row.json : row.text) }
    }
}

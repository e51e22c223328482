import ArgumentParser
import Coordinator

/// `mfa-coordinator bench worker`: the worker's service overhead over its kernel, and store-worker
/// page throughput, against `mfa-worker` processes it starts next to itself.
struct WorkerBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract:
            "Measure a real mfa-worker: decode through the socket against the same kernel call in process, and store put/get."
    )

    @Flag(help: "Print one JSON object a line.")
    var json = false

    func run() async throws {
        let benchmark = WorkerBenchmark(workerBinary: try LaunchedWorker.binaryNextToExecutable())
        try await benchmark.run { row in print(json ? row.json : row.text) }
    }
}

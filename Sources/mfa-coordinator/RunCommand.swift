import ArgumentParser
import CacheProtocol
import Coordinator
import Foundation

/// `mfa-coordinator run`: the workload driver. With `--coordinator` it replays a workload (a
/// Mooncake-format trace, or the built-in chat workload) through an existing cluster's client
/// endpoint and prints what happened. Without it, it is the demo `make demo` runs: it starts a local
/// cluster (a store worker and a compute worker found next to this executable), drives a checked
/// workload through it, prints what happened and shuts the cluster down. Exits non-zero if a request
/// failed or an answer differed from the reference.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Drive a checked prefill/decode/prefix-cache workload through a cluster and report it."
    )

    @Option(help: "A cluster's client endpoint (a coordinator's, or one worker's) to drive instead of a local cluster.")
    var coordinator: String?
    @Option(help: "A request trace in the Mooncake FAST'25 JSONL format (default: the built-in chat workload).")
    var trace: String?
    @Option(name: .customLong("block-tokens"), help: "Token ids per 512-token block of the trace.")
    var blockTokens = 16
    @Option(help: "Replay only the trace's first N requests.")
    var requests: Int?
    @Option(help: "Times faster than the trace's arrivals; 0 replays as fast as --concurrency allows.")
    var speedup = 0.0
    @Option(help: "Requests in flight at most.")
    var concurrency = 4
    @Option(help: "Requests whose every answer is compared with the dense reference.")
    var check = 4
    @Option(help: "The cluster's model spec.")
    var model = "name=demo,layers=2,q-heads=8,kv-heads=2,head-dim=64,kv=f16,page=16"
    @Flag(help: "Print one JSON object instead of the report.")
    var json = false

    func run() async throws {
        guard let coordinator else {
            let binary = try LaunchedWorker.binaryNextToExecutable()
            let report = await ClusterDemo(workerBinary: binary).run()
            for line in report.lines { print(line) }
            if !report.passed { throw ExitCode(1) }
            return
        }
        let spec: ModelSpec
        let requests: [WorkloadRequest]
        do {
            spec = try ModelSpec(parsing: model)
            let source: WorkloadSource =
                trace.map {
                    .trace(
                        path: $0,
                        requests: self.requests,
                        scaling: TraceScaling(blockTokens: blockTokens, speedup: speedup)
                    )
                }
                ?? .chat(ChatWorkload())
            requests = try source.requests()
        } catch {
            throw ValidationError("\(error)")
        }
        let run = WorkloadRun(
            endpoint: coordinator,
            spec: spec,
            requests: requests,
            driver: WorkloadDriver(spec: spec, concurrency: concurrency, checkedRequests: check)
        )
        let report = try await run.run()
        if json {
            print(report.json)
        } else {
            for line in report.lines { print(line) }
        }
        if !report.passed { throw ExitCode(1) }
    }
}

import ArgumentParser
import CacheProtocol
import Coordinator
import Foundation

/// `mfa-coordinator run`: the workload driver, and what `make demo` runs. Replays a workload (a
/// Mooncake-format trace, or the built-in chat workload) through a cluster and reports it. Without
/// `--coordinator` it starts its own local cluster (a coordinator and `--workers` workers from the
/// binaries beside it, in a temporary directory) and stops it at the end. Exits non-zero when a
/// request failed, an answer differed from the reference, or the local cluster did not shut down
/// cleanly.
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
    @Option(help: "The local cluster's placement: prefix, round-robin or least-loaded.")
    var placement = "prefix"
    @Option(name: .customLong("worker-memory"), help: "Each local worker's hot pool (e.g. 8MiB).")
    var workerMemory = "8MiB"
    @Option(help: "Workers of the local cluster.")
    var workers = 3
    @Option(help: "Workers holding each committed prefix page in the local cluster (serve --replicas).")
    var replicas = 1
    @Flag(help: "Run the workload under prefix placement and under round-robin, each on a fresh local cluster.")
    var compare = false
    @Flag(help: "Print one JSON object a run instead of the report.")
    var json = false

    func validate() throws {
        guard (1...max(1, workers)).contains(replicas) else {
            throw ValidationError("--replicas must be 1 to the \(workers) workers, not \(replicas)")
        }
    }

    func run() async throws {
        let spec: ModelSpec
        let requests: [WorkloadRequest]
        do {
            spec = try ModelSpec(parsing: model)
            let scaling = TraceScaling(blockTokens: blockTokens, speedup: speedup)
            let source: WorkloadSource =
                trace.map { .trace(path: $0, requests: self.requests, scaling: scaling) } ?? .chat(ChatWorkload())
            requests = try source.requests()
        } catch {
            throw ValidationError("\(error)")
        }
        let driver = WorkloadDriver(spec: spec, concurrency: concurrency, checkedRequests: check)
        var passed = true
        if let coordinator {
            let report = try await WorkloadRun(endpoint: coordinator, spec: spec, requests: requests, driver: driver)
                .run(progress: progress)
            show(report.json, report.lines)
            passed = report.passed
        } else {
            let binaries = try LaunchedWorker.binaryNextToExecutable().deletingLastPathComponent()
            for policy in compare ? ["prefix", "round-robin"] : [placement] {
                var options = LocalCluster.Options(model: spec.description)
                options.workers = workers
                options.workerMemory = workerMemory
                options.placement = policy
                options.replicas = replicas
                let cluster = try await LocalCluster(binaries: binaries, options: options)
                let report: WorkloadReport
                do {
                    report = try await WorkloadRun(
                        endpoint: cluster.clientEndpoint,
                        spec: spec,
                        requests: requests,
                        driver: driver
                    ).run(placement: policy, progress: progress)
                } catch {
                    _ = cluster.stop()
                    throw error
                }
                let (exits, removed) = cluster.stop()
                let clean = removed && exits.allSatisfy { $0.status == 0 }
                let shutdown =
                    "shutdown     "
                    + exits.map { "\($0.name) exited \($0.status.map(String.init) ?? "by a signal")" }
                    .joined(separator: ", ") + (removed ? "; run directory removed" : "; run directory LEFT")
                show(
                    report.json,
                    ["cluster      \(workers) workers and a coordinator on loopback, model \(spec)"] + report.lines + [
                        shutdown
                    ]
                )
                passed = passed && report.passed && clean
            }
        }
        if !json { print(passed ? "result: all checks passed" : "result: FAILED") }
        if !passed { throw ExitCode(1) }
    }

    private func show(_ jsonLine: String, _ lines: [String]) {
        if json {
            print(jsonLine)
        } else {
            for line in lines { print(line) }
        }
        fflush(nil)
    }

    /// A progress bar on standard error when it is a terminal.
    private var progress: @Sendable (Int, Int) -> Void {
        guard isatty(STDERR_FILENO) == 1 else { return { _, _ in } }
        return { done, total in
            let width = 40
            let filled = total == 0 ? width : width * done / total
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            FileHandle.standardError.write(Data("\r[\(bar)] \(done)/\(total)\(done == total ? "\n" : "")".utf8))
        }
    }
}

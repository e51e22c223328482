import ArgumentParser
import Coordinator

/// `mfa-coordinator run`: the demo `make demo` runs. Starts a local cluster (a store worker and a
/// compute worker found next to this executable), drives a checked workload through it, prints
/// what happened, shuts the cluster down, and exits non-zero if anything failed.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Start a local cluster, run a checked prefill/decode/prefix-cache workload through it, and stop it."
    )

    func run() async throws {
        let binary = try LaunchedWorker.binaryNextToExecutable()
        let report = await ClusterDemo(workerBinary: binary).run()
        for line in report.lines { print(line) }
        if !report.passed { throw ExitCode(1) }
    }
}

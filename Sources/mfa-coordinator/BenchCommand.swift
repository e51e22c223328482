import ArgumentParser
import Coordinator

/// `mfa-coordinator bench …`: benchmarks that print rates next to this machine's own ceilings.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure kernels, transport, the worker, the coordinator's state machine and local clusters.",
        subcommands: [
            KernelsBenchCommand.self, TransportBenchCommand.self, WorkerBenchCommand.self, CoordinatorBenchCommand.self,
            ClusterBenchCommand.self,
        ]
    )
}

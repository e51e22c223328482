import ArgumentParser
import Coordinator

/// `mfa-coordinator bench …`: benchmarks that print rates next to this machine's own ceilings.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure kernels, transport and the worker against this machine's ceilings.",
        subcommands: [KernelsBenchCommand.self, TransportBenchCommand.self, WorkerBenchCommand.self]
    )
}

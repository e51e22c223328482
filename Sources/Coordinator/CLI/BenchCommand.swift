import ArgumentParser

/// `mfa-coordinator bench …`: benchmarks that print rates next to this machine's own ceilings.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure kernels and transport against this machine's ceilings.",
        subcommands: [KernelsBenchCommand.self, TransportBenchCommand.self]
    )
}

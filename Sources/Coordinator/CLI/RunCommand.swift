import ArgumentParser
import Kernels

/// `mfa-coordinator run`: the demo `make demo` runs. For now a kernel demo: a small batch of
/// sequences prefilled and decoded through the attention kernels, each result checked; prints what
/// happened and exits non-zero if a check fails.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a small prefill and decode workload through the kernels and check every result."
    )

    func run() async throws {
        let report: KernelDemo.Report
        do throws(KernelError) {
            report = try KernelDemo().run()
        } catch {
            StandardError.report("kernel demo: \(error)")
            throw ExitCode(1)
        }
        for line in report.lines { print(line) }
        if !report.passed { throw ExitCode(1) }
    }
}

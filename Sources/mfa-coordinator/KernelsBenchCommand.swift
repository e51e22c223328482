import ArgumentParser
import Coordinator
import Foundation

/// `mfa-coordinator bench kernels`: attention kernel rates as fractions of this machine's FMA peak
/// and read bandwidth, measured in the same run.
struct KernelsBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "Time the attention kernels against the FMA peak and read bandwidth measured in the same run."
    )

    @Flag(help: "One JSON object per line instead of a table.")
    var json = false
    @Option(help: "Threads for kernels and ceilings (default: every core).")
    var threads: Int?
    @Option(
        name: .customLong("repeat"),
        help:
            "Fewest timed runs per case, after one warm-up (cases run in interleaved rounds until each has 1 s timed or 400 runs)."
    )
    var repetitions = 5
    @Option(name: .customLong("case"), help: "Run only this case (repeatable).")
    var caseNames: [String] = []

    func run() async throws {
        do throws(KernelBenchmarkError) {
            let benchmark = KernelBenchmark(
                threads: threads ?? ProcessInfo.processInfo.activeProcessorCount,
                repetitions: repetitions,
                cases: try KernelBenchmark.cases(named: caseNames)
            )
            let records = try benchmark.run { name in
                if !json { StandardError.write("running \(name)…") }
            }
            if json {
                for record in records { print(record.jsonLine) }
            } else {
                for (index, record) in records.enumerated() {
                    print(record.tableRow)
                    if index == 0 { print(KernelBenchmarkRecord.tableHeading) }
                }
            }
        } catch {
            StandardError.report(error.description)
            throw ExitCode(2)
        }
    }
}

import ArgumentParser
import Coordinator

/// `mfa-coordinator bench coordinator`: the coordinator's state machine alone, with simulated
/// workers: events applied per second, placements per second and index memory per page.
struct CoordinatorBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coordinator",
        abstract:
            "Measure the coordinator's state machine in process: events/s, placements/s of 64-page prompts, index bytes per page."
    )

    @Flag(help: "Print exactly one JSON object a line: events, placements, index-memory.")
    var json = false
    @Option(help: "Simulated workers.")
    var workers = 256
    @Option(help: "Indexed prompts of 64 pages (16,384: 1,048,576 keys).")
    var chains = 16_384
    @Option(name: .customLong("keys-per-event"), help: "Keys in each timed CacheEvent.")
    var keysPerEvent = 1
    @Option(help: "Timed CacheEvents.")
    var events = 2_000_000
    @Option(help: "Timed opens.")
    var placements = 200_000

    func validate() throws {
        guard workers >= 2, workers <= 65_536 else { throw ValidationError("--workers must be 2…65536") }
        guard chains >= 1, keysPerEvent >= 1, events >= 2, placements >= 1 else {
            throw ValidationError(
                "--chains, --keys-per-event, --events and --placements must be positive (events at least 2)"
            )
        }
    }

    func run() async throws {
        var benchmark = CoordinatorBenchmark()
        benchmark.workers = workers
        benchmark.chains = chains
        benchmark.keysPerEvent = keysPerEvent
        benchmark.events = events
        benchmark.placements = placements
        var rows: [CoordinatorBenchmark.Row] = []
        do throws(CoordinatorBenchmarkError) {
            try benchmark.run { row in
                if json { rows.append(row) } else { print(row.text) }
            }
        } catch {
            StandardError.report(error.description)
            throw ExitCode(1)
        }
        guard json else { return }
        for name in ["events", "placements", "index-memory"] {
            for row in rows {
                if let line = row.json, line.contains("\"case\": \"\(name)\"") { print(line) }
            }
        }
    }
}

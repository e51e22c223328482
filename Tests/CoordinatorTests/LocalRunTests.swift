import Foundation
import TestSupport
import Testing

/// `mfa-coordinator run` without `--coordinator`: a local cluster of a coordinator and three
/// workers, started, driven through the coordinator and stopped, as real processes.
@Suite("mfa-coordinator run on a local cluster", .serialized)
struct LocalRunTests {
    /// Runs `mfa-coordinator run` with `arguments` and `--json` to its end; its exit status and one
    /// report object per line of output.
    static func run(_ arguments: [String]) throws -> (status: Int32?, reports: [[String: Any]], diagnostics: String) {
        let process = try BuiltExecutable.coordinator.launch(arguments: ["run", "--json"] + arguments)
        let exit = try #require(
            process.waitForExit(within: .seconds(240)),
            "run did not finish: \(process.diagnostics)"
        )
        let reports = process.standardOutput.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }
        return (exit.exitStatus, reports, process.diagnostics)
    }

    @Test(
        "the trace excerpt through a coordinator and three workers: every request and checked answer right, placements on every worker, a clean shutdown"
    )
    func traceThroughTheCoordinator() throws {
        let result = try Self.run([
            "--trace", Fixtures.repositoryPath("data/mooncake-excerpt.jsonl"), "--requests", "40", "--check", "4",
        ])
        #expect(result.status == 0, "\(result.diagnostics)")
        let report = try #require(result.reports.first, "\(result.diagnostics)")
        #expect(report["placement"] as? String == "prefix")
        #expect(report["completed"] as? Int == 40)
        #expect(report["failed_checks"] as? Int == 0)
        #expect((report["checked"] as? Int ?? 0) > 0)
        // Pages moved between workers, raw and on the wire: present, and consistent (the workload's
        // random K/V does not compress, so on the wire is about the raw size plus page headers).
        let movedPages = try #require(report["pages_moved"] as? Int)
        let moved = try #require(report["bytes_moved"] as? Int)
        let movedCompressed = try #require(report["bytes_moved_compressed"] as? Int)
        #expect((movedPages == 0) == (moved == 0) && (moved == 0) == (movedCompressed == 0))
        #expect(
            Double(movedCompressed) <= Double(moved) * 1.05 + 64,
            "\(movedCompressed) bytes on the wire for \(moved)"
        )
        let workers = try #require(report["workers"] as? [[String: Any]])
        #expect(workers.count == 3)
        #expect(workers.reduce(0) { $0 + ($1["placements"] as? Int ?? 0) } == 40)
        let hitRate = try #require(report["hit_rate"] as? Double)
        let ideal = try #require(report["ideal_hit_rate"] as? Double)
        #expect(hitRate > 0 && hitRate <= ideal + 1e-9)
    }

    @Test("on the same trace, prefix placement hits more prompt tokens and prefills fewer than round-robin")
    func prefixBeatsRoundRobin() throws {
        let result = try Self.run([
            "--trace", Fixtures.repositoryPath("data/mooncake-excerpt.jsonl"), "--requests", "100", "--check", "2",
            "--compare",
        ])
        #expect(result.status == 0, "\(result.diagnostics)")
        try #require(result.reports.count == 2, "\(result.diagnostics)")
        let prefix = result.reports[0]
        let roundRobin = result.reports[1]
        #expect(prefix["placement"] as? String == "prefix")
        #expect(roundRobin["placement"] as? String == "round-robin")
        let prefixHits = try #require(prefix["hit_rate"] as? Double)
        let roundRobinHits = try #require(roundRobin["hit_rate"] as? Double)
        #expect(prefixHits > roundRobinHits)
        #expect(try #require(prefix["prefill_tokens"] as? Int) < (try #require(roundRobin["prefill_tokens"] as? Int)))
        #expect(prefix["ideal_hit_rate"] as? Double == roundRobin["ideal_hit_rate"] as? Double)
    }
}

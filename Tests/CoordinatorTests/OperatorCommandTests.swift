import CacheProtocol
import Coordinator
import Foundation
import TestSupport
import Testing

/// `mfa-coordinator status` and `drain` as real processes against `mfa-coordinator serve`, and the
/// status they print read from the coordinator's counters.
@Suite("mfa-coordinator status and drain", .serialized)
struct OperatorCommandTests {
    static let model = ServeEndToEndTests.model("f16")

    @Test("the status reads every worker's line and the totals from the counters, as a table and as JSON")
    func statusFromCounters() throws {
        let counters: [String: UInt64] = [
            "cluster.workers": 2, "cluster.workers.live": 1, "cluster.workers.draining": 1, "cluster.sequences": 3,
            "cluster.hit_rate_permille": 250, "cluster.drain.moved": 4, "cluster.drain.bytes": 9000,
            "worker.7.state": 0, "worker.7.pages.hot": 12, "worker.7.sequences": 3, "worker.7.hit_rate_permille": 500,
            "worker.7.heartbeat_age_ms": 140, "worker.7.evictable_pages": 6, "worker.7.received.pages": 9,
            "worker.12.state": 1, "worker.12.pages.disk": 5,
        ]
        let status = ClusterStatus(counters: counters)
        #expect(status.workers.map(\.id) == [7, 12])
        #expect(status.workers.map(\.state) == ["live", "draining"])
        #expect(status.workers[0].pagesHot == 12)
        #expect(status.workers[0].hitRate == 0.5)
        #expect(status.workers[1].pagesDisk == 5)
        #expect(status.workers[0].evictablePages == 6)
        #expect(status.workers[0].receivedPages == 9)
        let lines = status.table.split(separator: "\n").map(String.init)
        #expect(lines[0].hasPrefix("worker  state"))
        #expect(lines[1].hasPrefix("7 ") && lines[1].contains("live") && lines[1].contains("50.0%"))
        #expect(lines[1].contains("140 ms"))
        #expect(lines[2].hasPrefix("12") && lines[2].contains("draining"))
        #expect(status.table.contains("sequences moved 4 (0 pages, 9000 bytes)"))
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(try status.json().utf8)) as? [String: Any]
        )
        let cluster = try #require(json["cluster"] as? [String: Any])
        #expect(cluster["drain.moved"] as? Int == 4)
        let workers = try #require(json["workers"] as? [[String: Any]])
        #expect(workers.map { $0["id"] as? Int } == [7, 12])
        #expect(workers.first?["pages_hot"] as? Int == 12)
        #expect(workers.first?["heartbeat_age_milliseconds"] as? Int == 140)
    }

    @Test("status prints a line per worker of a served cluster; --json one object; drain of an unknown worker fails")
    func commandsAgainstAServedCluster() async throws {
        let cluster = try await ServedCluster(model: Self.model, workerCount: 2)
        let table = try BuiltExecutable.coordinator.launch(arguments: [
            "status", "--coordinator", cluster.clientEndpoint,
        ])
        #expect(table.waitForExit(within: .seconds(30)) == .exited(0), "\(table.diagnostics)")
        let lines = table.standardOutput.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("worker  state") == true, "\(table.standardOutput)")
        #expect(lines.filter { $0.hasPrefix("1 ") || $0.hasPrefix("2 ") }.allSatisfy { $0.contains("live") })
        #expect(lines.filter { $0.hasPrefix("1 ") || $0.hasPrefix("2 ") }.count == 2)
        #expect(table.standardOutput.contains("workers 2 (live 2, draining 0"))

        let json = try BuiltExecutable.coordinator.launch(arguments: [
            "status", "--coordinator", cluster.clientEndpoint, "--json",
        ])
        #expect(json.waitForExit(within: .seconds(30)) == .exited(0), "\(json.diagnostics)")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any],
            "\(json.standardOutput)"
        )
        let workers = try #require(object["workers"] as? [[String: Any]])
        #expect(workers.map { $0["state"] as? String } == ["live", "live"])
        #expect((object["cluster"] as? [String: Any])?["workers.live"] as? Int == 2)

        let unknown = try BuiltExecutable.coordinator.launch(arguments: [
            "drain", "--coordinator", cluster.clientEndpoint, "--worker", "99",
        ])
        #expect(unknown.waitForExit(within: .seconds(30)) == .exited(1), "\(unknown.diagnostics)")
        #expect(unknown.standardError.contains("error: Drain of worker 99"), "\(unknown.diagnostics)")
        let missing = try BuiltExecutable.coordinator.launch(arguments: [
            "drain", "--coordinator", cluster.clientEndpoint,
        ])
        #expect(missing.waitForExit(within: .seconds(30)) == .exited(2), "\(missing.diagnostics)")
        await cluster.stop()
    }

    @Test("drain --wait of a worker with no sequence returns once it has left; it exits 0")
    func drainIdleWorker() async throws {
        let cluster = try await ServedCluster(model: Self.model, workerCount: 2)
        let drain = try BuiltExecutable.coordinator.launch(arguments: [
            "drain", "--coordinator", cluster.clientEndpoint, "--worker", "2", "--wait", "--timeout", "30",
        ])
        #expect(drain.waitForExit(within: .seconds(40)) == .exited(0), "\(drain.diagnostics)")
        #expect(drain.standardOutput.contains("draining worker 2"))
        #expect(drain.standardOutput.contains("worker 2 left"))
        let worker = try #require(cluster.workers[2])
        #expect(worker.process.waitForExit(within: .seconds(20)) == .exited(0), "\(worker.process.diagnostics)")
        let stats = try await cluster.stats()
        #expect(stats["worker.2.state"] == 3)
        #expect(stats["cluster.drains.completed"] == 1)
        await cluster.stop()
    }
}

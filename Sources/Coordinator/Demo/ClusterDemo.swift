import CacheProtocol
import Foundation

/// The demo `mfa-coordinator run` (and `make demo`) performs: it starts a `LocalCluster` (a store
/// worker and a compute worker with compressed-RAM, disk and remote tiers kept small so that pages
/// move through all of them), drives `DemoWorkload` through it with a `ClusterClient`, reports the
/// workers' counters, and shuts the cluster down, checking that both workers exit with status 0 and
/// that the temporary data directory is gone.
///
/// `run` never throws: every error and failed check becomes a failure of the report, and the
/// workers are stopped by PID on every path.
public struct ClusterDemo: Sendable {
    /// The `mfa-worker` executable.
    var workerBinary: URL
    /// The model both workers serve (16 KiB f16 pages).
    var model = "name=demo,layers=2,q-heads=8,kv-heads=2,head-dim=64,kv=f16,page=16"
    /// Tier sizes: a hot pool of 24 pages, about 4 pages each of compressed RAM and disk.
    var sizes = LocalCluster.Sizes(
        computeMemory: "384KiB",
        compressedMemory: "80KiB",
        disk: "80KiB",
        storeMemory: "4MiB"
    )
    /// Tokens of the shared system prompt (a multiple of the page size makes it all cacheable).
    var systemPromptLength = 48
    /// Batched decode steps.
    var decodeSteps = 6
    /// Tokens of the document that pushes cached pages down the tiers.
    var documentLength = 320
    /// Largest accepted relative error of a worker's answer against the dense reference.
    var tolerance: Float = 1e-4
    /// Seed of the workload's data.
    var seed: UInt64 = 2024
    /// How long each worker may take to exit after SIGTERM before it is killed.
    var stopTimeout: Duration = .seconds(10)

    /// Runs the demo and returns its report.
    public func run() async -> ClusterDemoReport {
        var report = ClusterDemoReport()
        let spec: ModelSpec
        do {
            spec = try ModelSpec(parsing: model)
        } catch {
            report.fail(ClusterDemoError.model("\(error)").description)
            return report
        }
        let starting = ContinuousClock.now
        let cluster: LocalCluster
        do {
            cluster = try LocalCluster(binary: workerBinary, model: spec.description, sizes: sizes)
        } catch {
            report.fail(ClusterDemoError.clusterStart("\(error)").description)
            return report
        }
        report.say(
            "cluster   \(ClusterDemoReport.milliseconds(starting.duration(to: .now))) ms  2 mfa-worker processes on loopback, "
                + "model \(spec)"
        )
        for (role, worker) in [("store", cluster.store), ("compute", cluster.compute)] {
            let arguments = cluster.arguments.first { $0.role == role }?.arguments ?? []
            report.say("  \(role) pid \(worker.pid) at \(worker.endpoint): \(arguments.joined(separator: " "))")
        }

        await drive(cluster, spec: spec, into: &report)

        let stopping = ContinuousClock.now
        let (exits, removed) = cluster.stop(within: stopTimeout)
        report.say(
            "shutdown  \(ClusterDemoReport.milliseconds(stopping.duration(to: .now))) ms  SIGTERM: "
                + exits.map { exit in
                    "\(exit.role) (pid \(exit.pid)) " + (exit.status.map { "exited \($0)" } ?? "was killed")
                }
                .joined(separator: ", ")
                + "; data directory \(removed ? "removed" : "NOT removed")"
        )
        for exit in exits where exit.status != 0 {
            report.fail(
                "the \(exit.role) worker did not exit cleanly (status \(exit.status.map(String.init) ?? "none"))"
            )
        }
        if !removed { report.fail("the data directory \(cluster.directory) is still there") }
        report.say(report.passed ? "result: all checks passed" : "result: \(report.failures.count) FAILED")
        return report
    }

    /// Runs the workload against the compute worker and reports both workers' counters.
    private func drive(_ cluster: LocalCluster, spec: ModelSpec, into report: inout ClusterDemoReport) async {
        let client: ClusterClient
        let store: ClusterClient
        do {
            let context = try ZMQContext()
            client = try ClusterClient(context: context, endpoint: cluster.compute.endpoint, timeout: .seconds(30))
            store = try ClusterClient(context: context, endpoint: cluster.store.endpoint, timeout: .seconds(30))
        } catch {
            report.fail("cannot connect to the cluster: \(error)")
            return
        }
        var workload = DemoWorkload(
            spec: spec,
            client: client,
            systemPromptLength: systemPromptLength,
            decodeSteps: decodeSteps,
            documentLength: documentLength,
            tolerance: tolerance,
            seed: seed
        )
        do {
            try await workload.run()
        } catch {
            workload.stopped(by: "\(error)")
        }
        report.append(workload.report)
        for (role, worker) in [("compute", client), ("store", store)] {
            do {
                let counters = try await worker.stats()
                report.say("\(role) worker counters:")
                for line in Self.describe(counters) { report.say("  " + line) }
            } catch {
                report.fail("the \(role) worker's counters: \(error)")
            }
        }
        await client.disconnect()
        await store.disconnect()
    }

    /// A worker's counters as lines: the service's, then one line per tier and the moves between
    /// tiers (bytes and the time the worker spent on them).
    static func describe(_ counters: [String: UInt64]) -> [String] {
        let service = counters.filter { !$0.key.hasPrefix("tier_") }.sorted { $0.key < $1.key }
        var lines = [service.map { "\($0.key) \($0.value)" }.joined(separator: ", ")]
        for tier in ["compressed", "disk", "remote"] {
            let prefix = "tier_\(tier)_"
            let values = counters.filter { $0.key.hasPrefix(prefix) }.sorted { $0.key < $1.key }
            if !values.isEmpty {
                lines.append(
                    "tier \(tier): "
                        + values.map { "\($0.key.dropFirst(prefix.count)) \($0.value)" }.joined(separator: ", ")
                )
            }
        }
        let moves = counters.keys.filter { $0.hasPrefix("tier_move_") && $0.hasSuffix("_bytes") }.sorted().map { name in
            let direction = name.dropFirst("tier_move_".count).dropLast("_bytes".count)
            let nanoseconds = counters["tier_move_\(direction)_ns"] ?? 0
            let path = direction.split(separator: "_").joined(separator: " → ")
            return
                "\(path) \((counters[name] ?? 0) / 1024) KiB in \(ClusterDemoReport.milliseconds(.nanoseconds(nanoseconds))) ms"
        }
        if !moves.isEmpty { lines.append("moves: " + moves.joined(separator: ", ")) }
        return lines
    }
}

extension ClusterDemo {
    /// The demo with its default workload, on workers started from `workerBinary`.
    public init(workerBinary: URL) {
        self.workerBinary = workerBinary
    }
}

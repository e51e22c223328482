import CacheProtocol
import Coordinator
import Foundation
import Kernels
import TestSupport
import Testing

/// A real cluster on loopback: `mfa-coordinator serve` and `mfa-worker`s registered with it
/// (ids 1, 2, …, heartbeat `heartbeatMilliseconds`, dead after `deadAfter` silent intervals), and
/// a `ClusterClient` on the coordinator's client endpoint. Every process is killed by PID when
/// the cluster goes away, whatever path the test took.
final class ServedCluster {
    /// The workers' heartbeat interval, and the coordinator's.
    static let heartbeatMilliseconds = 200
    /// Silent heartbeat intervals after which the coordinator declares a worker dead: 1 s, so that
    /// a worker of a test run on a machine busy with other builds is not declared dead by mistake.
    static let deadAfter = 5
    /// How long a worker may be silent before it is dead.
    static var silenceLimit: Duration { .milliseconds(heartbeatMilliseconds * deadAfter) }

    /// The coordinator's process (the latest started).
    private(set) var coordinator: LaunchedProcess
    /// Coordinators replaced by `restartCoordinator`, kept so that each is still killed by PID when
    /// the cluster goes away.
    private var replacedCoordinators: [LaunchedProcess] = []
    /// The coordinator's arguments after its endpoints.
    private let coordinatorOptions: [String]
    /// Where clients connect.
    let clientEndpoint: String
    /// Where workers register.
    let workersEndpoint: String
    /// The model spec every process was started with.
    let model: String
    /// The hot pool of every worker.
    let memory: String
    /// The CURVE options every worker gets.
    let workerSecurityArguments: [String]
    /// The workers by id.
    private(set) var workers: [UInt64: LaunchedWorker] = [:]
    /// The libzmq context of the client.
    let context: ZMQContext
    /// A client of the coordinator.
    let client: ClusterClient

    /// Starts the coordinator for `model` and `workerCount` workers of `memory` hot pages each
    /// (worker `id` with `workerEnvironments[id]` added to its environment), and waits (bounded)
    /// until every worker is live.
    init(
        model: String,
        workerCount: Int,
        memory: String = "16MiB",
        placement: String = "prefix",
        coordinatorArguments: [String] = [],
        workerSecurityArguments: [String] = [],
        workerEnvironments: [UInt64: [String: String]] = [:],
        clientCurve: ZMQCurveSecurity? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        coordinatorOptions =
            [
                "--model", model, "--heartbeat", "\(Self.heartbeatMilliseconds)", "--dead-after", "\(Self.deadAfter)",
                "--placement", placement, "--log-level", "info",
            ] + coordinatorArguments
        // The OS picks free ports; a restart binds the same ones again.
        coordinator = try BuiltExecutable.coordinator.launch(
            arguments: ["serve", "--listen", "tcp://127.0.0.1:*", "--workers-endpoint", "tcp://127.0.0.1:*"]
                + coordinatorOptions,
            readyLinePrefix: "listening ",
            sourceLocation: sourceLocation
        )
        let endpoints = try Self.endpoints(announcedBy: coordinator, sourceLocation: sourceLocation)
        clientEndpoint = endpoints.client
        workersEndpoint = endpoints.workers
        self.model = model
        self.memory = memory
        self.workerSecurityArguments = workerSecurityArguments
        context = try ZMQContext()
        var clientOptions = ZMQSocketOptions(maxMessageSize: WireLimits.maxBulkFrameBytes)
        clientOptions.curve = clientCurve
        client = try ClusterClient(
            context: context,
            endpoint: clientEndpoint,
            timeout: .seconds(20),
            options: clientOptions
        )
        for id in 1...UInt64(workerCount) {
            workers[id] = try launchWorker(
                model: model,
                memory: memory,
                arguments: workerArguments(id: id),
                environment: workerEnvironments[id] ?? [:],
                sourceLocation: sourceLocation
            )
        }
        try await waitUntil("\(workerCount) workers are live", sourceLocation: sourceLocation) { stats in
            stats["cluster.workers.live"] == UInt64(workerCount)
        }
    }

    /// The client and worker endpoints a coordinator printed in its `listening` line.
    static func endpoints(
        announcedBy coordinator: LaunchedProcess,
        sourceLocation: SourceLocation
    ) throws -> (client: String, workers: String) {
        let line = coordinator.readyLine ?? ""
        let fields = Dictionary(
            line.split(separator: " ").compactMap { field -> (String, String)? in
                guard let equals = field.firstIndex(of: "=") else { return nil }
                return (String(field[..<equals]), String(field[field.index(after: equals)...]))
            },
            uniquingKeysWith: { first, _ in first }
        )
        let client = try #require(fields["client"], "no client endpoint in `\(line)`", sourceLocation: sourceLocation)
        let workers = try #require(
            fields["workers"],
            "no workers endpoint in `\(line)`",
            sourceLocation: sourceLocation
        )
        return (client, workers)
    }

    /// SIGKILLs the coordinator (no shutdown work at all) and returns how it ended.
    @discardableResult
    func killCoordinator() -> ProcessExit? {
        coordinator.kill()
    }

    /// Starts a new coordinator with the same options on the same client and worker endpoints (the
    /// ports the first one was given), after killing the current one if it still runs. The client
    /// keeps its connection: ZeroMQ reconnects it. Workers are not waited for.
    func restartCoordinator(sourceLocation: SourceLocation = #_sourceLocation) throws {
        if coordinator.exit == nil { coordinator.kill() }
        let next = try BuiltExecutable.coordinator.launch(
            arguments: ["serve", "--listen", clientEndpoint, "--workers-endpoint", workersEndpoint]
                + coordinatorOptions,
            readyLinePrefix: "listening ",
            sourceLocation: sourceLocation
        )
        replacedCoordinators.append(coordinator)
        coordinator = next
        let endpoints = try Self.endpoints(announcedBy: next, sourceLocation: sourceLocation)
        try #require(
            endpoints.client == clientEndpoint && endpoints.workers == workersEndpoint,
            "the restarted coordinator listens on \(endpoints), not \(clientEndpoint) and \(workersEndpoint)",
            sourceLocation: sourceLocation
        )
    }

    /// The arguments that register a worker with this cluster's coordinator as `id`. They give no
    /// heartbeat interval: the worker takes the coordinator's at registration (at its default of
    /// 1 s, each heartbeat would come at the edge of the coordinator's 1 s silence limit).
    func workerArguments(id: UInt64) -> [String] {
        ["--coordinator", workersEndpoint, "--worker-id", "\(id)"] + workerSecurityArguments
    }

    /// The coordinator's counters.
    func stats() async throws -> [String: UInt64] {
        try await client.stats()
    }

    /// Waits until the coordinator's counters satisfy `condition`, asking every 50 ms for at most
    /// `timeout`; fails the test with the last counters when they never do.
    func waitUntil(
        _ what: String,
        timeout: Duration = .seconds(20),
        sourceLocation: SourceLocation = #_sourceLocation,
        _ condition: ([String: UInt64]) -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        var last: [String: UInt64] = [:]
        while ContinuousClock.now < deadline {
            last = try await stats()
            if condition(last) { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        try #require(
            Bool(false),
            "waited \(timeout) in vain until \(what); counters: \(last.sorted { $0.key < $1.key })\n\(coordinator.diagnostics)",
            sourceLocation: sourceLocation
        )
    }

    /// The worker each sequence-count counter names, with its count.
    func sequencesPerWorker() async throws -> [UInt64: UInt64] {
        let stats = try await stats()
        var counts: [UInt64: UInt64] = [:]
        for id in workers.keys { counts[id] = stats["worker.\(id).sequences"] ?? 0 }
        return counts
    }

    /// Opens a sequence for `tokens` and finds the worker it was placed on (the one whose
    /// sequence count grew). Sequences must be opened one at a time for this.
    func openTracked(
        namespace: String,
        tokens: [UInt32]
    ) async throws -> (sequenceID: UInt64, cachedTokens: Int, worker: UInt64) {
        let before = try await sequencesPerWorker()
        let opened = try await client.open(namespace: namespace, tokens: tokens)
        let after = try await sequencesPerWorker()
        let grown = after.filter { $0.value > before[$0.key, default: 0] }.map(\.key)
        let worker = try #require(grown.count == 1 ? grown.first : nil, "placement not found: \(before) → \(after)")
        return (opened.sequenceID, opened.cachedTokens, worker)
    }

    /// SIGKILLs worker `id` (no shutdown work at all).
    func kill(worker id: UInt64) {
        workers[id]?.process.kill()
    }

    /// Starts worker `id` again (after it was killed), with the same id and an empty cache, and
    /// waits (bounded) until the coordinator has it live with a fresh run.
    func restart(worker id: UInt64, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let registered = try await stats()["cluster.snapshots.requested"] ?? 0
        workers[id] = try launchWorker(
            model: model,
            memory: memory,
            arguments: workerArguments(id: id),
            sourceLocation: sourceLocation
        )
        // Each registration asks the worker for a snapshot.
        try await waitUntil("worker \(id) registered again", sourceLocation: sourceLocation) { stats in
            stats["worker.\(id).state"] == 0 && (stats["cluster.snapshots.requested"] ?? 0) > registered
                && stats["cluster.snapshots.applied"] == stats["cluster.snapshots.requested"]
        }
    }

    /// Stops the workers and the coordinator with SIGTERM and records an issue for any that did
    /// not exit cleanly (a killed worker excepted).
    func stop(sourceLocation: SourceLocation = #_sourceLocation) async {
        await client.disconnect()
        for (id, worker) in workers.sorted(by: { $0.key < $1.key }) {
            worker.process.recordIssueIfItFailedOnItsOwn(sourceLocation: sourceLocation)
            if worker.process.exit == nil {
                let status = worker.stop()
                #expect(status == 0, "worker \(id): \(worker.process.diagnostics)", sourceLocation: sourceLocation)
            }
        }
        for replaced in replacedCoordinators { replaced.recordIssueIfItFailedOnItsOwn(sourceLocation: sourceLocation) }
        coordinator.recordIssueIfItFailedOnItsOwn(sourceLocation: sourceLocation)
        let exit = coordinator.stop()
        #expect(exit == .exited(0), "\(coordinator.diagnostics)", sourceLocation: sourceLocation)
    }
}

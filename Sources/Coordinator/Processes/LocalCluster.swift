import CacheProtocol
import Foundation

/// A cluster on loopback started from the binaries next to this executable: one
/// `mfa-coordinator serve` and `workers` `mfa-worker` processes registered with it, each worker with
/// small compressed-RAM and disk tiers in its own folder of one temporary run directory. Starting
/// either brings up everything or stops what it started; `stop` ends every process by PID (SIGTERM,
/// then SIGKILL after a bounded wait) and removes the run directory.
public struct LocalCluster: Sendable {
    /// How the cluster is made.
    public struct Options: Sendable, Hashable {
        /// The model every process serves (the spec's text form).
        public var model: String
        /// Compute workers.
        public var workers = 3
        /// Each worker's hot pool, as `mfa-worker --memory` takes it.
        public var workerMemory = "8MiB"
        /// Worker by worker (id 1 first), hot pools that replace `workerMemory`; workers past its
        /// end take `workerMemory`.
        public var workerMemories: [String] = []
        /// Each worker's compressed-RAM tier.
        public var compressedMemory = "1MiB"
        /// Each worker's disk tier.
        public var disk = "4MiB"
        /// The coordinator's placement policy.
        public var placement = "prefix"
        /// Workers holding each committed prefix page (`serve --replicas`).
        public var replicas = 1
        /// The heartbeat interval in milliseconds, for the coordinator and every worker.
        public var heartbeatMilliseconds = 500
        /// How long the workers may take to register.
        public var registrationTimeout: Duration = .seconds(20)

        /// Options for `model`, with the defaults above.
        public init(model: String) {
            self.model = model
        }
    }

    /// How one process's stop ended.
    public struct Exit: Sendable, Hashable {
        /// `coordinator` or `worker <id>`.
        public var name: String
        /// Its process id.
        public var pid: Int32
        /// Its exit status; nil when it had to be killed or died of a signal.
        public var status: Int32?
    }

    /// The coordinator process.
    public let coordinator: LaunchedProcess
    /// The coordinator's client endpoint (what `ClusterClient` connects to).
    public let clientEndpoint: String
    /// The coordinator's worker-registration endpoint.
    public let workersEndpoint: String
    /// The workers, by id 1, 2, ….
    public let workers: [LaunchedWorker]
    /// The run directory (the workers' data folders).
    public let directory: String
    /// The options it was started with.
    public let options: Options

    /// Why the cluster could not start.
    public struct StartFailure: Error, CustomStringConvertible {
        /// What went wrong.
        public var description: String
    }

    /// Starts the coordinator, then the workers, and waits until every worker is registered and
    /// live; a failure stops what was started and removes the run directory before it is thrown.
    public init(binaries: URL, options: Options) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "mfa-cluster-\(UUID().uuidString)"
        ).path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        var started: [LaunchedProcess] = []
        do {
            let coordinator = try LaunchedProcess(
                executable: binaries.appendingPathComponent("mfa-coordinator"),
                arguments: [
                    "serve", "--listen", "tcp://127.0.0.1:*", "--workers-endpoint", "tcp://127.0.0.1:*", "--model",
                    options.model, "--placement", options.placement, "--replicas", "\(options.replicas)", "--heartbeat",
                    "\(options.heartbeatMilliseconds)",
                    "--log-level", "error",
                ],
                readyLinePrefix: "listening "
            )
            started.append(coordinator)
            let endpoints = try Self.endpoints(coordinator.readyLine ?? "")
            var workers: [LaunchedWorker] = []
            for id in 1...max(1, options.workers) {
                let data = directory + "/worker-\(id)"
                try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: false)
                let worker = try LaunchedWorker(
                    binary: binaries.appendingPathComponent("mfa-worker"),
                    arguments: [
                        "--model", options.model, "--coordinator", endpoints.workers, "--worker-id", "\(id)",
                        "--memory",
                        id <= options.workerMemories.count ? options.workerMemories[id - 1] : options.workerMemory,
                        "--compressed-memory", options.compressedMemory, "--data-dir", data, "--disk", options.disk,
                    ]
                )
                started.append(worker.process)
                workers.append(worker)
            }
            self.coordinator = coordinator
            clientEndpoint = endpoints.client
            workersEndpoint = endpoints.workers
            self.workers = workers
            self.directory = directory
            self.options = options
            try await waitForRegistrations()
        } catch {
            for process in started.reversed() { _ = process.stop(within: .seconds(5)) }
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    /// Stops the workers (each flushes its tiers and deregisters), then the coordinator, each
    /// waited for at most `timeout`, and removes the run directory. Returns how each ended and
    /// whether the directory is gone.
    public func stop(within timeout: Duration = .seconds(10)) -> (exits: [Exit], directoryRemoved: Bool) {
        var exits = workers.enumerated().map { index, worker in
            Exit(name: "worker \(index + 1)", pid: worker.pid, status: worker.stop(within: timeout))
        }
        exits.append(
            Exit(name: "coordinator", pid: coordinator.pid, status: coordinator.stop(within: timeout)?.exitStatus)
        )
        try? FileManager.default.removeItem(atPath: directory)
        return (exits, !FileManager.default.fileExists(atPath: directory))
    }

    /// `client=<a> workers=<b>` → the two endpoints.
    static func endpoints(_ line: String) throws -> (client: String, workers: String) {
        var fields: [String: String] = [:]
        for field in line.split(separator: " ") {
            let parts = field.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { fields[String(parts[0])] = String(parts[1]) }
        }
        guard let client = fields["client"], let workers = fields["workers"] else {
            throw StartFailure(
                description:
                    "the coordinator printed `listening \(line)`, not `listening client=<endpoint> workers=<endpoint>`"
            )
        }
        return (client, workers)
    }

    /// Asks the coordinator for its counters until every worker is live, at most
    /// `options.registrationTimeout` (registration is one round trip per worker; the wait is a
    /// handful of 20 ms steps).
    private func waitForRegistrations() async throws {
        let client = try ClusterClient(context: try ZMQContext(), endpoint: clientEndpoint, timeout: .seconds(5))
        defer { Task { await client.disconnect() } }
        let deadline = ContinuousClock.now + options.registrationTimeout
        while true {
            let live = (try? await client.stats())?["cluster.workers.live"] ?? 0
            if live >= UInt64(workers.count) { return }
            guard ContinuousClock.now < deadline else {
                throw StartFailure(
                    description: "\(live) of \(workers.count) workers registered within \(options.registrationTimeout)"
                )
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

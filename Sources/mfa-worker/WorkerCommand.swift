import ArgumentParser
import CacheProtocol
import Foundation
import Logging
import Worker

/// `mfa-worker`: holds KV pages and runs attention on its shards.
@main
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mfa-worker",
        abstract: "MFA Cluster worker: paged KV cache, prefix cache tiers and attention service."
    )

    @Option(help: "The coordinator's worker endpoint (omit for a standalone worker).")
    var coordinator: String?
    @Option(help: "The endpoint to listen on, e.g. tcp://0.0.0.0:7100 (tcp://127.0.0.1:* picks a port).")
    var listen: String
    @Option(help: "Model spec, e.g. name=llama3-8b,layers=32,q-heads=32,kv-heads=8,head-dim=128,kv=f16,page=16.")
    var model: String?
    @Option(help: "Bytes of the hot page pool (512MiB, 8GiB, 100MB or plain bytes).")
    var memory: String?
    @Option(name: .customLong("compressed-memory"), help: "Bytes of the compressed in-memory tier.")
    var compressedMemory: String?
    @Option(name: .customLong("data-dir"), help: "Directory of the disk tier.")
    var dataDirectory: String?
    @Option(help: "Bytes of the disk tier.")
    var disk: String?
    @Option(help: "compute or store.")
    var role: String = "compute"
    @Option(help: "A remote peer or store for evicted pages (repeatable).")
    var remote: [String] = []
    @Option(help: "Kernel threads (default: every core).")
    var threads: Int?
    @Option(name: .customLong("curve-secret"), help: "This worker's CURVE key-pair file.")
    var curveSecret: String?
    @Option(name: .customLong("coordinator-key"), help: "The coordinator's CURVE public-key file.")
    var coordinatorKey: String?
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"
    @Option(name: .customLong("worker-id"), help: "This worker's id in the cluster.")
    var workerID: UInt64 = 1
    @Option(
        help:
            "Milliseconds between registration attempts, and between heartbeats until the coordinator gives its own interval."
    )
    var heartbeat: Int = WorkerConfiguration.defaultHeartbeatMilliseconds

    func run() async throws {
        ParentWatch.startIfRequested()
        let configuration = try WorkerConfiguration(
            coordinator: coordinator,
            listen: listen,
            model: model,
            memory: memory,
            compressedMemory: compressedMemory,
            dataDirectory: dataDirectory,
            disk: disk,
            role: role,
            remotes: remote,
            threads: threads,
            curveSecret: curveSecret,
            coordinatorKey: coordinatorKey,
            logLevel: logLevel,
            workerID: workerID,
            heartbeatMilliseconds: heartbeat,
            droppedCacheEvents: ProcessInfo.processInfo.environment[WorkerConfiguration.dropCacheEventsVariable]
        )
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = configuration.logLevel
            return handler
        }
        try await WorkerDaemon(configuration: configuration, logger: Logger(label: "mfa-worker")).run()
    }
}

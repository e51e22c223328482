import ArgumentParser
import Coordinator
import Foundation
import Logging

/// `mfa-coordinator serve`: the coordinator daemon. Binds the client and worker endpoints, prints
/// `listening client=<endpoint> workers=<endpoint>` (resolved ports) once serving, and serves until
/// SIGTERM or SIGINT.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the coordinator: placement by prefix, routing, decode merge and worker health."
    )

    @Option(help: "The endpoint clients connect to, e.g. tcp://0.0.0.0:7000 (tcp://127.0.0.1:* picks a port).")
    var listen: String
    @Option(name: .customLong("workers-endpoint"), help: "The endpoint workers register at (their --coordinator).")
    var workersEndpoint: String
    @Option(help: "Model spec, e.g. name=llama3-8b,layers=32,q-heads=32,kv-heads=8,head-dim=128,kv=f16,page=16.")
    var model: String
    @Option(help: "The workers' heartbeat interval in milliseconds (their --heartbeat).")
    var heartbeat: Int = 1000
    @Option(name: .customLong("dead-after"), help: "Heartbeat intervals of silence after which a worker is dead.")
    var deadAfter: Int = 3
    @Option(help: "prefix, round-robin or least-loaded.")
    var placement: String = "prefix"
    @Option(help: "Workers that hold each prefix page (1 to 4096; more than 1 has workers pull committed pages).")
    var replicas: Int = 1
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"
    @Option(name: .customLong("curve-secret"), help: "The coordinator's CURVE key-pair file (both endpoints).")
    var curveSecret: String?
    @Option(name: .customLong("worker-key"), help: "The workers' CURVE public-key file (needs --curve-secret).")
    var workerKey: String?

    func run() async throws {
        let configuration: CoordinatorDaemonConfiguration
        do {
            configuration = try CoordinatorDaemonConfiguration(
                listen: listen,
                workersEndpoint: workersEndpoint,
                model: model,
                heartbeatMilliseconds: heartbeat,
                deadAfter: deadAfter,
                placement: placement,
                replicas: replicas,
                logLevel: logLevel,
                curveSecret: curveSecret,
                workerKey: workerKey
            )
        } catch {
            throw ValidationError(error.description)
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = configuration.logLevel
            return handler
        }
        let daemon = CoordinatorDaemon(configuration: configuration, logger: Logger(label: "mfa-coordinator")) {
            client,
            workers in
            print("listening client=\(client) workers=\(workers)")
            fflush(nil)
        }
        try await daemon.run()
    }
}

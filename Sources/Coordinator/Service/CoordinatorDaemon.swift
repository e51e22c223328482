import CacheProtocol
import Foundation
import Logging
import ServiceLifecycle

/// The `mfa-coordinator serve` process: one libzmq context, the `CoordinatorServer` over a fresh
/// `CoordinatorInstance`, run as a `ServiceGroup` until SIGTERM or SIGINT, then shut down
/// gracefully (the ROUTERs stop receiving, every socket closes) and `run` returns.
///
/// At start it draws the prefix index's hashing secret at random, and starts sequence ids at its
/// start time in milliseconds shifted left 20 bits, past any id a previous run (which started
/// earlier and gave out fewer than 2²⁰ ids a millisecond) may have left open on a worker.
public struct CoordinatorDaemon: Sendable {
    /// The checked command line.
    let configuration: CoordinatorDaemonConfiguration
    /// Where the coordinator logs.
    let logger: Logger
    /// Called with the bound client and worker endpoints once serving.
    let announce: @Sendable (_ clientEndpoint: String, _ workersEndpoint: String) -> Void

    /// A coordinator for `configuration`, logging to `logger`; `announce` gets the resolved
    /// endpoints (the real ports of `tcp://host:*`) once both ROUTERs are bound and serving.
    public init(
        configuration: CoordinatorDaemonConfiguration,
        logger: Logger,
        announce: @escaping @Sendable (_ clientEndpoint: String, _ workersEndpoint: String) -> Void = { _, _ in }
    ) {
        self.configuration = configuration
        self.logger = logger
        self.announce = announce
    }

    /// The first sequence id of a coordinator started at `date`: its Unix time in milliseconds
    /// shifted left 20 bits.
    public static func firstSequenceID(startingAt date: Date) -> UInt64 {
        let milliseconds = UInt64(max(0, date.timeIntervalSince1970 * 1000))
        return max(1, milliseconds << 20)
    }

    /// Runs the coordinator until a termination signal, then shuts it down; throws what prevented
    /// it from starting (an endpoint that cannot be bound, an unreadable key file).
    public func run() async throws {
        var coordinator = configuration.coordinator
        coordinator.indexSeed = UInt64.random(in: .min ... .max)
        coordinator.firstSequenceID = Self.firstSequenceID(startingAt: Date())
        let context = try ZMQContext()
        var routerOptions = ZMQSocketOptions(maxMessageSize: WireLimits.maxBulkFrameBytes)
        var dealerOptions = ZMQSocketOptions(linger: .zero, maxMessageSize: WireLimits.maxBulkFrameBytes)
        if let secret = configuration.curveSecret {
            let pair = try ZMQCurveKeyPair.read(from: secret)
            routerOptions.curve = .server(pair)
            if let key = configuration.workerKey {
                dealerOptions.curve = .client(pair, serverKey: try ZMQCurveKeyPair.readPublicKey(from: key))
            }
        }
        let server = try CoordinatorServer(
            context: context,
            configuration: coordinator,
            listen: configuration.listen,
            workersEndpoint: configuration.workersEndpoint,
            routerOptions: routerOptions,
            dealerOptions: dealerOptions,
            logger: logger,
            announce: announce
        )
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [
                    ServiceGroupConfiguration.ServiceConfiguration(
                        service: server,
                        successTerminationBehavior: .gracefullyShutdownGroup,
                        failureTerminationBehavior: .gracefullyShutdownGroup,
                        serviceName: "coordinator server"
                    )
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        logger.info(
            "coordinator serving \(coordinator.spec) to clients at \(server.clientEndpoint), workers at \(server.workersEndpoint); placement \(coordinator.placement), heartbeat \(coordinator.heartbeatInterval), dead after \(coordinator.deadAfterHeartbeats)"
        )
        try await group.run()
        logger.info("coordinator stopped")
    }
}

import CacheProtocol
import Foundation
import Kernels
import Logging
import ServiceLifecycle

/// The `mfa-worker` process: builds the tiers, the service, the server and the coordinator link
/// from a configuration (all sockets in one libzmq context) and runs them as a `ServiceGroup`. It
/// prints `listening <endpoint>` once bound and serving, and serves until SIGTERM or SIGINT, or
/// until a `Drain` has ended (the worker draining with no open sequence left). Then it shuts down
/// gracefully, in this order: the server stops taking requests and answers those in flight, the
/// tiers are persisted, the coordinator link deregisters (waiting at most 2 s for the answer) and
/// closes; `run` then returns.
public struct WorkerDaemon {
    /// The checked command line.
    let configuration: WorkerConfiguration
    /// Where the worker logs.
    let logger: Logger

    /// A worker for `configuration`, logging to `logger`.
    public init(configuration: WorkerConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs the worker until a termination signal or the end of a drain, then shuts it down;
    /// throws what prevented it from starting, or the error that ended serving.
    public func run() async throws {
        let spec = configuration.model
        let geometry = try PageGeometry(
            layers: spec.layers,
            kvHeads: spec.kvHeads,
            headDim: spec.headDim,
            pageSize: spec.pageSize,
            storage: spec.kvStorage
        )
        let pageCount = try geometry.pageCount(memoryBudget: configuration.memory.bytes)
        let context = try ZMQContext()
        let tiers = try await makeLowerTiers(configuration: configuration, context: context, logger: logger)
        let peers = ClusterPagePeers(context: context)
        let service = try WorkerService(
            spec: spec,
            role: configuration.role,
            workerID: configuration.workerID,
            pageCount: pageCount,
            tiers: tiers,
            peers: peers,
            threads: configuration.threads,
            demotionTier: configuration.demotionTier,
            logger: logger
        )
        await service.adoptLowerTierKeys()

        var listenOptions = ZMQSocketOptions(maxMessageSize: WireLimits.maxBulkFrameBytes)
        var coordinatorOptions = ZMQSocketOptions()
        if let secret = configuration.curveSecret {
            let pair = try ZMQCurveKeyPair.read(from: secret)
            listenOptions.curve = .server(pair)
            if let key = configuration.coordinatorKey {
                coordinatorOptions.curve = .client(pair, serverKey: try ZMQCurveKeyPair.readPublicKey(from: key))
            }
        }
        let server = try WorkerServer(
            service: service,
            context: context,
            listen: configuration.listen,
            options: listenOptions,
            logger: logger
        ) { endpoint in
            print("listening \(endpoint)")
            fflush(nil)
        }
        let coordinator = try configuration.coordinator.map { address in
            try CoordinatorConnection(
                context: context,
                coordinator: address,
                registration: RegisterWorker(
                    workerID: configuration.workerID,
                    endpoint: server.listeningEndpoint,
                    role: configuration.role,
                    hotPageCapacity: UInt64(pageCount),
                    storeBytes: UInt64((configuration.compressedMemory?.bytes ?? 0) + (configuration.disk?.bytes ?? 0)),
                    modelFingerprint: spec.fingerprint
                ),
                options: coordinatorOptions,
                status: service.statusBoard,
                heartbeatInterval: configuration.heartbeatInterval,
                droppedEvents: configuration.droppedCacheEvents,
                logger: logger
            )
        }
        if !configuration.droppedCacheEvents.isEmpty {
            let numbers = configuration.droppedCacheEvents.sorted().map(String.init).joined(separator: ",")
            logger.warning(
                "test hook \(WorkerConfiguration.dropCacheEventsVariable) is set: cache events \(numbers) will not be sent to the coordinator"
            )
        }
        if let coordinator { service.publishEvents(to: { coordinator.publish($0) }) }

        // What the worker persists at shutdown, once the server has answered its last request and
        // before the coordinator link deregisters: the one place the tiers are flushed.
        let persistence = ShutdownAction(name: "persist tiers") {
            await tiers.flush()
            await service.persistHotPages()
        }
        // The group starts these together and shuts them down one at a time in reverse order:
        // server, then persistence, then the coordinator link. Should one end on its own (or
        // fail), the others shut down the same way.
        var services: [(service: any Service, name: String)] = []
        if let coordinator { services.append((coordinator, "coordinator link")) }
        services += [(persistence, persistence.name), (server, "server")]
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services.map { entry in
                    ServiceGroupConfiguration.ServiceConfiguration(
                        service: entry.service,
                        successTerminationBehavior: .gracefullyShutdownGroup,
                        failureTerminationBehavior: .gracefullyShutdownGroup,
                        serviceName: entry.name
                    )
                },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )

        logger.info(
            "worker \(configuration.workerID) serving \(spec) with \(pageCount) hot pages as \(configuration.role); CPU instruction sets: \(CPUFeatures.current)"
        )
        // The end of a drain starts the same graceful shutdown as SIGTERM.
        try await withThrowingDiscardingTaskGroup { tasks in
            tasks.addTask { [logger, workerID = configuration.workerID] in
                let drained = service.statusBoard.drained
                await drained.wait()
                guard drained.isOpen else { return }
                logger.info("worker \(workerID) drained: shutting down")
                await group.triggerGracefulShutdown()
            }
            try await group.run()
            tasks.cancelAll()
        }
        await peers.close()
        logger.info("worker \(configuration.workerID) stopped")
    }
}

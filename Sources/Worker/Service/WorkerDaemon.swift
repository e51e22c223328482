import CacheProtocol
import Dispatch
import Foundation
import Logging

/// The `mfa-worker` process: builds the tiers, the service, the server and the coordinator link
/// from a configuration, prints `listening <endpoint>` once bound, and serves until SIGTERM or
/// SIGINT; then it stops taking requests, answers those in flight, flushes the tiers, deregisters
/// from the coordinator (waiting a bounded time for its answer) and returns.
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

    /// Runs the worker until a termination signal.
    public func run() async throws {
        let spec = configuration.model
        let geometry = try PageGeometry(
            layers: spec.layers, kvHeads: spec.kvHeads, headDim: spec.headDim, pageSize: spec.pageSize,
            storage: spec.kvStorage)
        let pageCount = try geometry.pageCount(memoryBudget: configuration.memory.bytes)
        let tiers = try await makeLowerTiers(configuration: configuration, logger: logger)
        let context = try ZMQContext()
        let peers = ClusterPagePeers(context: context)
        let service = try WorkerService(
            spec: spec, role: configuration.role, workerID: configuration.workerID, pageCount: pageCount,
            tiers: tiers, peers: peers, threads: configuration.threads, logger: logger)
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
            service: service, context: context, listen: configuration.listen, options: listenOptions,
            logger: logger)
        let coordinator = try configuration.coordinator.map { address in
            try CoordinatorConnection(
                context: context, coordinator: address,
                registration: RegisterWorker(
                    workerID: configuration.workerID, endpoint: server.listeningEndpoint, role: configuration.role,
                    hotPageCapacity: UInt64(pageCount),
                    storeBytes: UInt64((configuration.compressedMemory?.bytes ?? 0) + (configuration.disk?.bytes ?? 0)),
                    modelFingerprint: spec.fingerprint),
                options: coordinatorOptions, logger: logger)
        }
        server.attach(coordinator)

        let signals = Self.onTermination { server.stop() }
        print("listening \(server.listeningEndpoint)")
        fflush(nil)
        logger.info("worker \(configuration.workerID) serving \(spec) with \(pageCount) hot pages as \(configuration.role)")

        await withDiscardingTaskGroup { group in
            if let coordinator {
                group.addTask { await coordinator.run(service: service) }
            }
            await server.run()
            await tiers.flush()
            await service.persistHotPages()
            await coordinator?.deregister()
            group.cancelAll()
            await coordinator?.close()
        }
        await peers.close()
        signals.forEach { $0.cancel() }
        logger.info("worker \(configuration.workerID) stopped")
    }

    /// Calls `action` on SIGTERM or SIGINT (their default handling is turned off).
    private static func onTermination(_ action: @escaping @Sendable () -> Void) -> [any DispatchSourceSignal] {
        let queue = DispatchQueue(label: "mfa-worker.signals")
        return [SIGTERM, SIGINT].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler(handler: action)
            source.resume()
            return source
        }
    }
}

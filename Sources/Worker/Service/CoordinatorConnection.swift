import CacheProtocol
import Logging
import Synchronization

/// Runs a `CoordinatorLink` over a DEALER connected to the coordinator: sends what the link says,
/// feeds it the coordinator's answers, ticks it every `interval` with the service's status,
/// forwards cache events through it, and deregisters the worker when it shuts down.
final class CoordinatorConnection: Sendable {
    private let endpoint: ZMQEndpoint
    private let link: Mutex<CoordinatorLink>
    private let logger: Logger
    private let sendTimeout = Duration.seconds(1)

    /// A connection to `coordinator` that will register as `registration`.
    init(
        context: ZMQContext, coordinator: String, registration: RegisterWorker, options: ZMQSocketOptions,
        logger: Logger
    ) throws(TransportError) {
        endpoint = try ZMQEndpoint(.dealer, context: context, options: options, connect: [coordinator])
        link = Mutex(CoordinatorLink(registration: registration))
        self.logger = logger
    }

    /// Registers, then heartbeats every `interval` and handles answers until cancelled or closed.
    func run(service: WorkerService, interval: Duration = .seconds(1)) async {
        await perform(link.withLock { $0.start() })
        await withDiscardingTaskGroup { group in
            group.addTask { [self] in
                while !Task.isCancelled {
                    do {
                        try await Task.sleep(for: interval)
                    } catch {
                        return
                    }
                    let status = CoordinatorLink.Status(
                        liveSequences: await service.liveSequenceCount, freePages: await service.freePageCount,
                        cachedPages: await service.heldKeyCount)
                    await perform(link.withLock { $0.tick(status: status) })
                }
            }
            group.addTask { [self] in
                while true {
                    let frames: [ZMQFrame]
                    do {
                        frames = try await endpoint.receive()
                    } catch {
                        return
                    }
                    do {
                        let envelope = try Envelope(frames: frames)
                        await perform(link.withLock { $0.received(envelope) })
                    } catch {
                        logger.warning("undecodable message from the coordinator: \(error)")
                    }
                }
            }
        }
    }

    /// Sends `events` if registered.
    func publish(_ events: [CacheEvent]) async {
        guard !events.isEmpty else { return }
        await perform(link.withLock { $0.publish(events) })
    }

    /// Sends DeregisterWorker when registered and waits at most `timeout` for its answer (which
    /// `run`, still running, hands to the link); returns whether the worker left within it.
    @discardableResult
    func deregister(timeout: Duration = .seconds(2)) async -> Bool {
        await perform(link.withLock { $0.deregister() })
        let deadline = ContinuousClock.now + timeout
        while !link.withLock({ $0.isFinished }) {
            guard ContinuousClock.now < deadline else {
                logger.warning("the coordinator did not answer the deregistration within \(timeout)")
                return false
            }
            try? await Task.sleep(for: Self.answerPollInterval)
        }
        return true
    }

    /// How often `deregister` looks whether its answer has come.
    private static let answerPollInterval = Duration.milliseconds(10)

    /// Closes the connection (stopping `run`).
    func close() async {
        await endpoint.close()
    }

    private func perform(_ directives: [CoordinatorLink.Directive]) async {
        for directive in directives {
            switch directive {
            case .send(let envelope):
                do {
                    try await endpoint.send(try envelope.encode(), timeout: sendTimeout)
                } catch {
                    logger.warning("could not send \(envelope.message.type) to the coordinator: \(error)")
                }
            case .refused(let reason):
                logger.error("the coordinator refused this worker: \(reason)")
            }
        }
    }
}

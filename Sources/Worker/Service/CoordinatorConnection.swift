import CacheProtocol
import Logging
import ServiceLifecycle
import Synchronization

/// Runs a `CoordinatorLink` over a DEALER connected to the coordinator, as a service: it registers,
/// heartbeats every `heartbeatInterval` (or the interval the coordinator gives at registration), hands the coordinator's answers to the link, and forwards
/// cache events. On graceful shutdown it stops the heartbeats, sends DeregisterWorker and waits for
/// the link to leave — resumed by the answer, not by polling — at most `deregistrationTimeout`,
/// then closes the connection.
///
/// Heartbeats cannot be delayed by kernels: the DEALER's own socket thread makes them on its
/// schedule (`ZMQEndpoint.sendPeriodically`), from the status the worker service last published on
/// its `WorkerStatusBoard` (read under a lock), so neither the busy service actor nor the
/// Swift-concurrency threads that kernel calls occupy are involved. Every message is queued while
/// the link's lock is held, so the socket carries them in the order the link decided them (a
/// heartbeat never announces an event that has not been queued before it).
final class CoordinatorConnection: Service, Sendable {
    /// How long the worker waits for the answer to its DeregisterWorker before it exits anyway.
    static let defaultDeregistrationTimeout = Duration.seconds(2)

    private let endpoint: ZMQEndpoint
    private let link: Mutex<CoordinatorLink>
    /// Opens when the link has nothing more to send or await (it left, or was refused).
    private let finished = Latch()
    private let status: WorkerStatusBoard
    private let heartbeatInterval: Duration
    private let deregistrationTimeout: Duration
    private let logger: Logger
    private let sendTimeout = Duration.seconds(1)

    /// A connection to `coordinator` that will register as `registration`, heartbeat every
    /// `heartbeatInterval` with what `status` shows, and wait at most `deregistrationTimeout` for
    /// its deregistration to be answered. The events numbered in `droppedEvents` are not sent (a
    /// test hook).
    init(
        context: ZMQContext,
        coordinator: String,
        registration: RegisterWorker,
        options: ZMQSocketOptions,
        status: WorkerStatusBoard,
        heartbeatInterval: Duration = .seconds(1),
        deregistrationTimeout: Duration = CoordinatorConnection.defaultDeregistrationTimeout,
        droppedEvents: Set<UInt64> = [],
        logger: Logger
    ) throws(TransportError) {
        endpoint = try ZMQEndpoint(.dealer, context: context, options: options, connect: [coordinator])
        link = Mutex(CoordinatorLink(registration: registration, droppedEvents: droppedEvents))
        self.status = status
        self.heartbeatInterval = heartbeatInterval
        self.deregistrationTimeout = deregistrationTimeout
        self.logger = logger
    }

    /// Registers, then heartbeats and handles answers until graceful shutdown; then deregisters
    /// (a bounded wait) and closes. On cancellation the DeregisterWorker is still sent, without
    /// waiting for its answer. When the coordinator refuses the worker, it closes at once and
    /// throws `CoordinatorLinkError.refused`, which shuts the worker down.
    func run() async throws(CoordinatorLinkError) {
        updateLink { $0.start() }
        heartbeat(every: heartbeatInterval)
        var refusal: String?
        await withDiscardingTaskGroup { group in
            group.addTask { [self] in await receiveAnswers() }
            await untilShutdownOrFinished()
            endpoint.stopPeriodicSends()
            if case .refused(let reason) = link.withLock({ $0.state }) {
                refusal = reason
            } else {
                await deregister()
            }
            endpoint.stopReceiving()
        }
        await endpoint.close()
        if let refusal { throw .refused(reason: refusal) }
    }

    /// Returns at graceful shutdown (or cancellation), or as soon as the link is finished (the
    /// coordinator refused the worker).
    private func untilShutdownOrFinished() async {
        await withTaskGroup(of: Void.self) { race in
            race.addTask { try? await gracefulShutdown() }
            race.addTask { [finished] in await finished.wait() }
            await race.next()
            race.cancelAll()
        }
    }

    /// Sends `events` if registered.
    func publish(_ events: [NumberedCacheEvent]) {
        guard !events.isEmpty else { return }
        updateLink { $0.publish(events) }
    }

    /// Sends DeregisterWorker when registered and waits for the link to leave, at most
    /// `deregistrationTimeout` (`receiveAnswers`, still running, hands the answer to the link);
    /// returns whether it left within that time.
    @discardableResult
    func deregister() async -> Bool {
        updateLink { $0.deregister() }
        guard !Task.isCancelled else { return finished.isOpen }
        let left = await withTaskGroup(of: Bool.self) { race in
            race.addTask { [finished] in
                await finished.wait()
                return finished.isOpen
            }
            race.addTask { [deregistrationTimeout] in
                try? await Task.sleep(for: deregistrationTimeout)
                return false
            }
            let first = await race.next() ?? false
            race.cancelAll()
            return first
        }
        if !left {
            logger.warning("the coordinator did not answer the deregistration within \(deregistrationTimeout)")
        }
        return left
    }

    /// Sends the link's heartbeats (or its registration retries) every `interval` from now on,
    /// from the socket's own thread; replaces the schedule before.
    private func heartbeat(every interval: Duration) {
        endpoint.sendPeriodically(
            every: interval,
            onFailure: { [logger] error in
                logger.warning("could not send a heartbeat to the coordinator: \(error)")
            },
            messages: { [self] in tick() }
        )
    }

    /// One heartbeat interval has passed (called on the socket thread): the messages of the link's
    /// tick, with the status last published.
    private func tick() -> [[[UInt8]]] {
        let load = status.load
        let directives = link.withLock { $0.tick(status: load) }
        return directives.compactMap { directive in
            guard case .send(let envelope) = directive else { return nil }
            return encoded(envelope)
        }
    }

    /// Hands each message from the coordinator to the link, until receiving stops.
    private func receiveAnswers() async {
        while true {
            let frames: [ZMQFrame]
            do {
                frames = try await endpoint.receive()
            } catch {
                return
            }
            do {
                let envelope = try Envelope(frames: frames)
                updateLink { $0.received(envelope) }
            } catch {
                logger.warning("undecodable message from the coordinator: \(error)")
            }
        }
    }

    /// Applies `change` to the link and queues the messages it decides while still holding the
    /// link's lock; opens `finished` once the link is finished.
    private func updateLink(_ change: (inout CoordinatorLink) -> [CoordinatorLink.Directive]) {
        let (refusals, interval, isFinished) = link.withLock { link in
            var refusals: [String] = []
            var interval: Duration?
            for directive in change(&link) {
                switch directive {
                case .send(let envelope):
                    guard let frames = encoded(envelope) else { continue }
                    let type = envelope.message.type
                    endpoint.post(frames, timeout: sendTimeout) { [logger] error in
                        logger.warning("could not send \(type) to the coordinator: \(error)")
                    }
                case .refused(let reason):
                    refusals.append(reason)
                case .heartbeatEvery(let given):
                    interval = given
                }
            }
            return (refusals, interval, link.isFinished)
        }
        if let interval {
            logger.info("heartbeats every \(interval), as the coordinator asks")
            heartbeat(every: interval)
        }
        for reason in refusals { logger.error("the coordinator refused this worker: \(reason)") }
        if isFinished { finished.open() }
    }

    /// The frames of `envelope`; nil (logged) when it exceeds the protocol's limits.
    private func encoded(_ envelope: Envelope) -> [[UInt8]]? {
        do {
            return try envelope.encode()
        } catch {
            logger.error("could not encode \(envelope.message.type) for the coordinator: \(error)")
            return nil
        }
    }
}

import CacheProtocol
import Logging
import ServiceLifecycle
import Synchronization

/// Runs a `CoordinatorLink` over a DEALER connected to the coordinator, as a service: it registers,
/// sends a heartbeat every `heartbeatInterval` carrying the status the worker service last published
/// on its `WorkerStatusBoard` (read under a lock, never from the busy service actor, so a long
/// kernel call does not delay a heartbeat), hands the coordinator's answers to the link, and
/// forwards cache events. On graceful shutdown it stops the heartbeats, sends DeregisterWorker and
/// waits for the link to leave — resumed by the answer, not by polling — at most
/// `deregistrationTimeout`, then closes the connection.
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
    /// its deregistration to be answered.
    init(
        context: ZMQContext, coordinator: String, registration: RegisterWorker, options: ZMQSocketOptions,
        status: WorkerStatusBoard, heartbeatInterval: Duration = .seconds(1),
        deregistrationTimeout: Duration = CoordinatorConnection.defaultDeregistrationTimeout, logger: Logger
    ) throws(TransportError) {
        endpoint = try ZMQEndpoint(.dealer, context: context, options: options, connect: [coordinator])
        link = Mutex(CoordinatorLink(registration: registration))
        self.status = status
        self.heartbeatInterval = heartbeatInterval
        self.deregistrationTimeout = deregistrationTimeout
        self.logger = logger
    }

    /// Registers, then heartbeats and handles answers until graceful shutdown; then deregisters
    /// (a bounded wait) and closes. On cancellation the DeregisterWorker is still sent, without
    /// waiting for its answer.
    func run() async {
        await perform(updateLink { $0.start() })
        await withDiscardingTaskGroup { group in
            group.addTask { [self] in await receiveAnswers() }
            await withDiscardingTaskGroup { beats in
                beats.addTask { [self] in await sendHeartbeats() }
                try? await gracefulShutdown()
                beats.cancelAll()
            }
            await deregister()
            endpoint.stopReceiving()
        }
        await endpoint.close()
    }

    /// Sends `events` if registered.
    func publish(_ events: [CacheEvent]) async {
        guard !events.isEmpty else { return }
        await perform(updateLink { $0.publish(events) })
    }

    /// Sends DeregisterWorker when registered and waits for the link to leave, at most
    /// `deregistrationTimeout` (`receiveAnswers`, still running, hands the answer to the link);
    /// returns whether it left within that time.
    @discardableResult
    func deregister() async -> Bool {
        await perform(updateLink { $0.deregister() })
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

    /// A heartbeat (or a repeated registration) every interval, on a fixed schedule that skips the
    /// ticks it could not keep; until cancelled.
    private func sendHeartbeats() async {
        let clock = ContinuousClock()
        var next = clock.now + heartbeatInterval
        while true {
            do {
                try await clock.sleep(until: next)
            } catch {
                return
            }
            let load = status.load
            await perform(updateLink { $0.tick(status: load) })
            next += heartbeatInterval
            let now = clock.now
            if next < now { next = now + heartbeatInterval }
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
                await perform(updateLink { $0.received(envelope) })
            } catch {
                logger.warning("undecodable message from the coordinator: \(error)")
            }
        }
    }

    /// Applies `change` to the link under its lock; opens `finished` once the link is finished.
    private func updateLink(_ change: (inout CoordinatorLink) -> [CoordinatorLink.Directive]) -> [CoordinatorLink.Directive] {
        let (directives, isFinished) = link.withLock { link in
            let directives = change(&link)
            return (directives, link.isFinished)
        }
        if isFinished { finished.open() }
        return directives
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

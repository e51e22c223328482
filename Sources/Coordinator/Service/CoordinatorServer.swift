import CacheProtocol
import Dispatch
import Logging
import ServiceLifecycle
import Synchronization

/// The coordinator's socket shell, run as a service: a thin layer between a `ZMQReactor` and
/// `CoordinatorInstance`.
///
/// - Sockets: the client ROUTER, the worker-registration ROUTER, and one DEALER per worker the
///   state machine connects (`connectWorker`; closed, linger 0, on `disconnectWorker`), all
///   served by the reactor's one thread.
/// - Inputs: on the reactor's thread, each message read is decoded (`Envelope(frames:)`, or
///   `.undecodable` with the header's request id), stamped with the monotonic clock (instants
///   never go backwards) and handed to the instance; its directives are performed at once, so a
///   decode step is read, routed and forwarded without leaving that thread. The reactor ticks
///   every `tickInterval`; a send that could not be made comes back as `.sendFailed`, handled
///   after the directives in hand.
/// - Merges: a decode merge (`DecodeMergeJob.reply()`, kernel arithmetic) runs on a dispatch
///   queue, never on the reactor's thread, and sends its answer through the reactor.
/// - Shutdown (graceful shutdown or cancellation): the reactor stops reading, the merges in
///   flight finish and send their answers, and the reactor closes every socket. Requests still in
///   flight to workers are not answered.
final class CoordinatorServer: Service, Sendable {
    /// How long an answer or a forwarded request may wait to be taken by libzmq before it counts
    /// as not sent.
    static let sendTimeout = Duration.seconds(5)

    /// The state machine, the clock origin and the DEALERs, touched on the reactor's thread alone.
    private struct Owner: Sendable {
        var instance: CoordinatorInstance
        var dealers = WorkerDealers()
        let origin = ContinuousClock.now
    }

    private let configuration: CoordinatorConfiguration
    private let reactor: ZMQReactor
    private let clients: ZMQReactor.SocketID
    private let workerLinks: ZMQReactor.SocketID
    private let owner: Mutex<Owner>
    private let dealerOptions: ZMQSocketOptions
    private let merges = DispatchGroup()
    private let mergeQueue = DispatchQueue(
        label: "mfa-coordinator.merge",
        qos: .userInitiated,
        attributes: .concurrent
    )
    private let logger: Logger
    private let announce: @Sendable (_ clientEndpoint: String, _ workersEndpoint: String) -> Void

    /// The resolved address of the client ROUTER (the real port of `tcp://host:*`).
    let clientEndpoint: String
    /// The resolved address of the worker-registration ROUTER.
    let workersEndpoint: String

    /// A server whose client ROUTER is bound to `listen` and registration ROUTER to
    /// `workersEndpoint`, both with `routerOptions`; DEALERs to workers get `dealerOptions`.
    /// `announce` is called with both bound endpoints when `run` starts serving.
    init(
        context: ZMQContext,
        configuration: CoordinatorConfiguration,
        listen: String,
        workersEndpoint: String,
        routerOptions: ZMQSocketOptions,
        dealerOptions: ZMQSocketOptions,
        logger: Logger,
        announce: @escaping @Sendable (_ clientEndpoint: String, _ workersEndpoint: String) -> Void = { _, _ in }
    ) throws(TransportError) {
        let reactor = try ZMQReactor(context: context)
        let clients = try reactor.open(.router, options: routerOptions, bind: [listen])
        let workerLinks = try reactor.open(.router, options: routerOptions, bind: [workersEndpoint])
        self.reactor = reactor
        self.clients = clients.id
        self.workerLinks = workerLinks.id
        self.clientEndpoint = clients.bound.first ?? ""
        self.workersEndpoint = workerLinks.bound.first ?? ""
        self.configuration = configuration
        self.owner = Mutex(Owner(instance: CoordinatorInstance(configuration: configuration)))
        self.dealerOptions = dealerOptions
        self.logger = logger
        self.announce = announce
    }

    /// Announces the endpoints and serves until graceful shutdown or cancellation (or until the
    /// reactor fails, which is logged); then lets the merges in flight answer and closes the
    /// sockets.
    func run() async {
        let (stopped, stop) = AsyncStream.makeStream(of: Never.self)
        do {
            try reactor.start(
                tickInterval: configuration.tickInterval,
                onTick: { [self] in handle(.tick) },
                onFailure: { [logger] error in
                    logger.error("the coordinator's sockets failed: \(error)")
                    stop.finish()
                },
                onMessage: { [self] socket, frames in received(frames, on: socket) }
            )
        } catch {
            logger.error("cannot start serving: \(error)")
            await reactor.close()
            return
        }
        announce(clientEndpoint, workersEndpoint)
        await withTaskCancellationOrGracefulShutdownHandler {
            for await _ in stopped {}
        } onCancelOrGracefulShutdown: { [reactor] in
            reactor.stopReceiving()
            stop.finish()
        }
        reactor.stopReceiving()
        await withCheckedContinuation { continuation in
            merges.notify(queue: .global()) { continuation.resume() }
        }
        await reactor.close()
    }

    // MARK: On the reactor's thread

    /// A message read from `socket`: from a ROUTER, its identity frame first.
    private func received(_ frames: [ZMQFrame], on socket: ZMQReactor.SocketID) {
        let source: MessageSource
        let message: [ZMQFrame]
        if socket == clients || socket == workerLinks {
            guard frames.count >= 2 else { return }
            let identity = RoutingIdentity(Array(frames[0]))
            source = socket == clients ? .client(identity) : .workerLink(identity)
            message = Array(frames.dropFirst())
        } else {
            guard let worker = owner.withLock({ $0.dealers.worker(of: socket) }) else { return }
            source = .worker(worker)
            message = frames
        }
        handle(.decoding(message, from: source))
    }

    /// Hands `input` to the instance at the monotonic now and performs its directives in order.
    private func handle(_ input: CoordinatorInput) {
        let directives = owner.withLock { owner in
            let now = MonotonicInstant(nanoseconds: MonotonicInstant.nanoseconds(of: .now - owner.origin))
            return owner.instance.handle(input, at: now)
        }
        for directive in directives { perform(directive) }
    }

    /// Does what `directive` says. Never waits on a socket.
    private func perform(_ directive: CoordinatorDirective) {
        switch directive {
        case .answerClient(let client, let envelope):
            answer(client, envelope, on: clients)
        case .answerWorkerLink(let link, let envelope):
            answer(link, envelope, on: workerLinks)
        case .sendToWorker(let worker, let envelope):
            send(envelope, to: worker)
        case .connectWorker(let worker, let endpoint):
            disconnect(worker)
            do {
                let dealer = try reactor.open(.dealer, options: dealerOptions, connect: [endpoint])
                _ = owner.withLock { $0.dealers.replace(worker, with: dealer.id) }
            } catch {
                logger.error("cannot connect to worker \(worker) at \(endpoint): \(error)")
            }
        case .disconnectWorker(let worker):
            disconnect(worker)
        case .mergeDecode(let job):
            merges.enter()
            mergeQueue.async { [self] in
                answer(job.client, job.reply(), on: clients)
                merges.leave()
            }
        case .notice(let notice):
            logger.log(level: notice.logLevel, "\(notice)")
        }
    }

    /// Closes the DEALER to `worker`, if there is one.
    private func disconnect(_ worker: WorkerID) {
        if let dealer = owner.withLock({ $0.dealers.remove(worker) }) { reactor.close(dealer) }
    }

    /// Sends `envelope` on `worker`'s DEALER; a message that cannot be encoded or sent, or a
    /// worker without a DEALER, comes back as `.sendFailed` once the directives in hand are done.
    private func send(_ envelope: Envelope, to worker: WorkerID) {
        let requestID = envelope.requestID
        let failed: @Sendable (String) -> Void = { [self] reason in
            reactor.post { [self] in handle(.sendFailed(worker: worker, requestID: requestID, reason: reason)) }
        }
        guard let dealer = owner.withLock({ $0.dealers[worker] }) else { return failed("no connection to the worker") }
        let frames: [[UInt8]]
        do {
            frames = try envelope.encode()
        } catch {
            return failed(error.description)
        }
        reactor.send(frames, on: dealer, timeout: Self.sendTimeout) { error in failed(error.description) }
    }

    /// Sends `envelope` behind `identity` on `router`; an answer too large for the protocol is
    /// replaced by a `badRequest` refusal, and one that cannot be sent is logged.
    private func answer(_ identity: RoutingIdentity, _ envelope: Envelope, on router: ZMQReactor.SocketID) {
        var frames: [[UInt8]]
        do {
            frames = try envelope.encode()
        } catch {
            let refusal = ErrorReply(
                code: .badRequest,
                message: "the answer would exceed the protocol's limits (\(error)); ask for less"
            )
            guard let encoded = try? Envelope(requestID: envelope.requestID, message: .errorReply(refusal)).encode()
            else { return }
            frames = encoded
        }
        let requestID = envelope.requestID
        reactor.send([identity.bytes] + frames, on: router, timeout: Self.sendTimeout) { [logger] error in
            logger.warning("could not answer request \(requestID) of \(identity): \(error)")
        }
    }
}

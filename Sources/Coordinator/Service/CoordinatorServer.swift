import CacheProtocol
import Logging
import ServiceLifecycle

/// The coordinator's socket shell, run as a service: a thin loop around `CoordinatorInstance`.
///
/// - Sockets: the client ROUTER, the worker-registration ROUTER, and one DEALER per worker the
///   state machine connects (`connectWorker`; closed, linger 0, on `disconnectWorker`). Every
///   socket is a `ZMQEndpoint` of one libzmq context, each run by a thread of its own.
/// - Inputs: each socket's receive loop blocks in `receive`, strips the ROUTER identity, decodes
///   the message (`Envelope(frames:)`, or `.undecodable` with the header's request id) and puts
///   the input on one stream; a timer puts a `.tick` on it every `tickInterval`; a send that could
///   not be queued puts a `.sendFailed` on it.
/// - One owner: a single task takes the inputs one at a time, stamps each with the monotonic clock
///   (instants never go backwards), hands it to the instance, and performs the directives in
///   order. Sends are posted (`ZMQEndpoint.post`), never awaited, so the owner never waits on a
///   socket; a decode merge (`DecodeMergeJob.reply()`, kernel arithmetic) runs in a task of its own
///   and posts its answer.
/// - Shutdown (graceful shutdown or cancellation): the ROUTERs stop receiving and the stream ends;
///   the owner then stops every DEALER and the timer, waits for the merges in flight, and the
///   sockets close. Requests still in flight to workers are not answered.
final class CoordinatorServer: Service, Sendable {
    /// How long a posted message may wait to be taken by libzmq before it counts as not sent.
    static let sendTimeout = Duration.seconds(5)

    private let context: ZMQContext
    private let configuration: CoordinatorConfiguration
    private let clients: ZMQEndpoint
    private let workerLinks: ZMQEndpoint
    private let dealerOptions: ZMQSocketOptions
    private let logger: Logger
    private let announce: @Sendable (_ clientEndpoint: String, _ workersEndpoint: String) -> Void

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
        clients = try ZMQEndpoint(.router, context: context, options: routerOptions, bind: [listen])
        workerLinks = try ZMQEndpoint(.router, context: context, options: routerOptions, bind: [workersEndpoint])
        self.context = context
        self.configuration = configuration
        self.dealerOptions = dealerOptions
        self.logger = logger
        self.announce = announce
    }

    /// The resolved address of the client ROUTER (the real port of `tcp://host:*`).
    var clientEndpoint: String { clients.boundEndpoints.first ?? "" }

    /// The resolved address of the worker-registration ROUTER.
    var workersEndpoint: String { workerLinks.boundEndpoints.first ?? "" }

    /// Announces the endpoints and serves until graceful shutdown or cancellation (or until a
    /// ROUTER fails to receive, which is logged); then closes the sockets.
    func run() async {
        announce(clientEndpoint, workersEndpoint)
        let (inputs, feed) = AsyncStream.makeStream(of: CoordinatorInput.self)
        await withTaskCancellationOrGracefulShutdownHandler {
            await serve(inputs, feed: feed)
        } onCancelOrGracefulShutdown: { [clients, workerLinks] in
            clients.stopReceiving()
            workerLinks.stopReceiving()
            feed.finish()
        }
        await clients.close()
        await workerLinks.close()
    }

    // MARK: The owner of the instance

    /// Takes inputs until the stream ends, performing each one's directives; then stops everything
    /// it started.
    private func serve(
        _ inputs: AsyncStream<CoordinatorInput>,
        feed: AsyncStream<CoordinatorInput>.Continuation
    )
        async
    {
        await withDiscardingTaskGroup { group in
            group.addTask { [self] in await receive(on: clients, as: MessageSource.client, feed: feed) }
            group.addTask { [self] in await receive(on: workerLinks, as: MessageSource.workerLink, feed: feed) }
            group.addTask { [configuration] in await Self.tick(every: configuration.tickInterval, feed: feed) }
            var instance = CoordinatorInstance(configuration: configuration)
            var dealers = WorkerDealers()
            let origin = ContinuousClock.now
            for await input in inputs {
                let now = MonotonicInstant(nanoseconds: MonotonicInstant.nanoseconds(of: .now - origin))
                for directive in instance.handle(input, at: now) {
                    perform(directive, dealers: &dealers, group: &group, feed: feed)
                }
            }
            clients.stopReceiving()
            workerLinks.stopReceiving()
            for dealer in dealers.removeAll() { dealer.stopReceiving() }
            // Ends the timer; the receive loops end on their own, the merges run to their end.
            group.cancelAll()
        }
    }

    /// Does what `directive` says. Never waits on a socket.
    private func perform(
        _ directive: CoordinatorDirective,
        dealers: inout WorkerDealers,
        group: inout DiscardingTaskGroup,
        feed: AsyncStream<CoordinatorInput>.Continuation
    ) {
        switch directive {
        case .answerClient(let client, let envelope):
            answer(client, envelope, on: clients)
        case .answerWorkerLink(let link, let envelope):
            answer(link, envelope, on: workerLinks)
        case .sendToWorker(let worker, let envelope):
            send(envelope, to: worker, dealers: dealers, feed: feed)
        case .connectWorker(let worker, let endpoint):
            let dealer: ZMQEndpoint
            do {
                dealer = try ZMQEndpoint(.dealer, context: context, options: dealerOptions, connect: [endpoint])
            } catch {
                dealers.remove(worker)?.stopReceiving()
                logger.error("cannot connect to worker \(worker) at \(endpoint): \(error)")
                return
            }
            dealers.replace(worker, with: dealer)?.stopReceiving()
            group.addTask { [self] in await receiveReplies(from: dealer, worker: worker, feed: feed) }
        case .disconnectWorker(let worker):
            dealers.remove(worker)?.stopReceiving()
        case .mergeDecode(let job):
            group.addTask { [self] in answer(job.client, job.reply(), on: clients) }
        case .notice(let notice):
            logger.log(level: notice.logLevel, "\(notice)")
        }
    }

    /// Posts `envelope` on `worker`'s DEALER; a message that cannot be encoded or queued, or a
    /// worker without a DEALER, comes back as `.sendFailed`.
    private func send(
        _ envelope: Envelope,
        to worker: WorkerID,
        dealers: WorkerDealers,
        feed: AsyncStream<CoordinatorInput>.Continuation
    ) {
        let requestID = envelope.requestID
        guard let dealer = dealers[worker] else {
            feed.yield(.sendFailed(worker: worker, requestID: requestID, reason: "no connection to the worker"))
            return
        }
        let frames: [[UInt8]]
        do {
            frames = try envelope.encode()
        } catch {
            feed.yield(.sendFailed(worker: worker, requestID: requestID, reason: error.description))
            return
        }
        dealer.post(frames, timeout: Self.sendTimeout) { error in
            feed.yield(.sendFailed(worker: worker, requestID: requestID, reason: error.description))
        }
    }

    /// Posts `envelope` behind `identity` on `router`; an answer too large for the protocol is
    /// replaced by a `badRequest` refusal, and one that cannot be queued is logged.
    private func answer(_ identity: RoutingIdentity, _ envelope: Envelope, on router: ZMQEndpoint) {
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
        router.post([identity.bytes] + frames, timeout: Self.sendTimeout) { [logger] error in
            logger.warning("could not answer request \(requestID) of \(identity): \(error)")
        }
    }

    // MARK: Input sources

    /// The receive loop of a ROUTER: each message, its identity frame stripped, becomes an input
    /// from `source(identity)`. Ends when receiving stops; another failure is logged and ends the
    /// stream (the server stops).
    private func receive(
        on router: ZMQEndpoint,
        as source: @Sendable (RoutingIdentity) -> MessageSource,
        feed: AsyncStream<CoordinatorInput>.Continuation
    ) async {
        while true {
            let frames: [ZMQFrame]
            do throws(TransportError) {
                frames = try await router.receive()
            } catch .receivingStopped {
                return
            } catch {
                logger.error("receive failed: \(error)")
                feed.finish()
                return
            }
            guard frames.count >= 2 else { continue }
            let identity = RoutingIdentity(Array(frames[0]))
            feed.yield(.decoding(Array(frames.dropFirst()), from: source(identity)))
        }
    }

    /// The receive loop of the DEALER to `worker`: each reply becomes an input from
    /// `.worker(worker)`. Ends when receiving stops (the worker was disconnected or replaced, or
    /// the server stops), then closes the DEALER.
    private func receiveReplies(
        from dealer: ZMQEndpoint,
        worker: WorkerID,
        feed: AsyncStream<CoordinatorInput>.Continuation
    ) async {
        while true {
            let frames: [ZMQFrame]
            do {
                frames = try await dealer.receive()
            } catch {
                break
            }
            feed.yield(.decoding(frames, from: .worker(worker)))
        }
        await dealer.close()
    }

    /// Puts a `.tick` on the stream every `interval` (on a schedule, not after each tick's
    /// handling) until cancelled or the stream ends.
    private static func tick(every interval: Duration, feed: AsyncStream<CoordinatorInput>.Continuation) async {
        let clock = ContinuousClock()
        var next = clock.now + interval
        while true {
            do {
                try await clock.sleep(until: next)
            } catch {
                return
            }
            if case .terminated = feed.yield(.tick) { return }
            next += interval
            if next < clock.now { next = clock.now + interval }
        }
    }
}

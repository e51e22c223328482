import CacheProtocol
import Logging
import ServiceLifecycle
import Synchronization

/// The worker's socket shell, run as a service: a ROUTER bound to the listen endpoint whose receive
/// loop decodes each request (identity frame first), hands it to the `WorkerService` (whose kernels
/// run on a queue of their own, never on the socket threads) and sends the answer back behind the
/// same identity frame. Requests are served in the order they arrive, so a requester may pipeline dependent
/// requests (the chunks of a prefill); only `PullPages` and `AdoptShard`, which wait on another
/// worker, are served beside the others and may be answered later. Malformed messages are answered with `ErrorReply`
/// (`version` or `badRequest`) when their request id is readable, else dropped.
///
/// The loop blocks in `receive` until a request arrives or the service shuts down: on graceful
/// shutdown (or cancellation) the endpoint stops receiving, the loop ends after answering the
/// request it holds and waits for the pulls in flight, then the socket closes.
final class WorkerServer: Service, Sendable {
    /// The service that answers requests.
    let service: WorkerService
    private let endpoint: ZMQEndpoint
    private let announce: @Sendable (_ endpoint: String) -> Void
    private let logger: Logger

    /// A server bound to `listen` (with `options.maxMessageSize`, larger frames make ZeroMQ drop
    /// the sender); `announce` is called with the bound endpoint when `run` starts serving.
    init(
        service: WorkerService,
        context: ZMQContext,
        listen: String,
        options: ZMQSocketOptions,
        logger: Logger,
        announce: @escaping @Sendable (_ endpoint: String) -> Void = { _ in }
    ) throws(TransportError) {
        endpoint = try ZMQEndpoint(.router, context: context, options: options, bind: [listen])
        self.service = service
        self.announce = announce
        self.logger = logger
    }

    /// The resolved address the ROUTER is bound to (the real port of `tcp://host:*`).
    var listeningEndpoint: String { endpoint.boundEndpoints.first ?? "" }

    /// Announces the endpoint and serves until graceful shutdown or cancellation; then answers the
    /// requests already taken and closes the socket. Throws the transport's error when receiving
    /// fails for another reason (after the same clean-up).
    func run() async throws(TransportError) {
        announce(listeningEndpoint)
        let failure = await withTaskCancellationOrGracefulShutdownHandler {
            await serveUntilStopped()
        } onCancelOrGracefulShutdown: { [endpoint] in
            endpoint.stopReceiving()
        }
        await endpoint.close()
        if let failure { throw failure }
    }

    /// The receive loop: serves requests until receiving stops; the error that ended it unless
    /// that was the stop.
    private func serveUntilStopped() async -> TransportError? {
        await withDiscardingTaskGroup { pulls in
            while true {
                let frames: [ZMQFrame]
                do throws(TransportError) {
                    frames = try await endpoint.receive()
                } catch .receivingStopped {
                    return nil
                } catch {
                    logger.error("receive failed: \(error)")
                    return error
                }
                guard let (identity, request) = await decode(frames) else { continue }
                switch request.message {
                case .pullPages, .adoptShard:
                    pulls.addTask { [self] in await serve(request, from: identity) }
                default:
                    await serve(request, from: identity)
                }
            }
        }
    }

    /// The sender's identity and its request; nil (after answering the refusal when its request id
    /// is readable) for a message that does not decode.
    private func decode(_ frames: [ZMQFrame]) async -> ([UInt8], Envelope)? {
        guard frames.count >= 2 else { return nil }
        let identity = Array(frames[0])
        let message = Array(frames.dropFirst())
        do {
            return (identity, try Envelope(frames: message))
        } catch {
            guard let id = MessageHeader.requestID(ofRefused: message[0]), !isCacheEvent(message[0]) else {
                logger.debug("dropped an unreadable message: \(error)")
                return nil
            }
            await send(
                identity,
                Envelope(
                    requestID: id,
                    message: .errorReply(ErrorReply(code: error.replyCode, message: error.description))
                )
            )
            return nil
        }
    }

    /// Answers one request (the service has already handed its events to the coordinator link).
    private func serve(_ request: Envelope, from identity: [UInt8]) async {
        let outcome = await service.handle(request)
        if let reply = outcome.reply { await send(identity, reply) }
    }

    /// Whether frame 0 is headed as a CacheEvent or CacheTierEvent (a refused event is dropped,
    /// never answered).
    private func isCacheEvent(_ frame0: ZMQFrame) -> Bool {
        frame0.withUnsafeBytes { raw in
            guard raw.count >= 8 else { return false }
            let type = UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 6, as: UInt16.self))
            return type == MessageType.cacheEvent.rawValue || type == MessageType.cacheTierEvent.rawValue
        }
    }

    private func send(_ identity: [UInt8], _ reply: Envelope) async {
        var frames: [[UInt8]]
        do {
            frames = try reply.encode()
        } catch {
            let refusal = ErrorReply(
                code: .badRequest,
                message: "the answer would exceed the protocol's limits (\(error)); ask for less"
            )
            guard let encoded = try? Envelope(requestID: reply.requestID, message: .errorReply(refusal)).encode() else {
                return
            }
            frames = encoded
        }
        do {
            try await endpoint.send([identity] + frames, timeout: .seconds(5))
        } catch {
            logger.warning("could not answer request \(reply.requestID): \(error)")
        }
    }
}

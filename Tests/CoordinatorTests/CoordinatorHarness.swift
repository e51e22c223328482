import CacheProtocol
import Testing

@testable import Coordinator

/// Drives a `CoordinatorInstance` by hand: a clock the test moves, functions that play workers and
/// clients, and readers of the directives. No sockets.
struct CoordinatorHarness {
    /// Why a harness step could not go on.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The tiny model every coordinator test uses: 2 layers, 2 query heads, 1 KV head, head dim 4,
    /// pages of 4 tokens.
    static func spec() throws -> ModelSpec {
        try ModelSpec(name: "tiny", layers: 2, queryHeads: 2, kvHeads: 1, headDim: 4, kvStorage: .f32, pageSize: 4)
    }

    var instance: CoordinatorInstance
    var now = MonotonicInstant(nanoseconds: 1_000_000_000)
    var nextClientRequest: UInt64 = 100
    var nextLinkRequest: UInt64 = 1
    /// Event numbers sent so far, per worker.
    var eventSequence: [UInt64: UInt64] = [:]
    /// Registrations sent, for a connection of their own each.
    var registrations = 0
    let client = RoutingIdentity([0xC1])

    /// A coordinator for the tiny model; unless `configure` says otherwise, with no recovery window
    /// (a request for an unknown sequence is answered at once).
    init(configure: (inout CoordinatorConfiguration) -> Void = { _ in }) throws {
        var configuration = CoordinatorConfiguration(spec: try Self.spec())
        configuration.recoveryWindow = .zero
        configure(&configuration)
        instance = CoordinatorInstance(configuration: configuration)
    }

    var pageSize: Int { instance.configuration.spec.pageSize }

    static func link(_ worker: UInt64) -> RoutingIdentity {
        RoutingIdentity([0x57, UInt8(truncatingIfNeeded: worker)])
    }
    static func endpoint(_ worker: UInt64) -> String { "tcp://10.0.0.\(worker):7100" }

    mutating func handle(_ input: CoordinatorInput) -> [CoordinatorDirective] {
        instance.handle(input, at: now)
    }

    mutating func advance(_ duration: Duration) {
        now = now.advanced(by: duration)
    }

    mutating func tick() -> [CoordinatorDirective] { handle(.tick) }

    // MARK: Worker side

    /// Sends a RegisterWorker from `worker`, on a connection of its own each time (a restarted
    /// worker process connects anew) unless `link` names one.
    mutating func register(
        _ worker: UInt64,
        hotPages: UInt64 = 1000,
        role: WorkerRole = .compute,
        fingerprint: ModelFingerprint? = nil,
        link: RoutingIdentity? = nil
    )
        throws -> [CoordinatorDirective]
    {
        let clusterFingerprint = try Self.spec().fingerprint
        let registration = RegisterWorker(
            workerID: worker,
            endpoint: Self.endpoint(worker),
            role: role,
            hotPageCapacity: hotPages,
            storeBytes: 0,
            modelFingerprint: fingerprint ?? clusterFingerprint
        )
        eventSequence[worker] = 0
        registrations += 1
        let connection =
            link
            ?? RoutingIdentity([0x52, UInt8(truncatingIfNeeded: worker), UInt8(truncatingIfNeeded: registrations)])
        let id = nextLinkRequest
        nextLinkRequest += 1
        return handle(
            .received(Envelope(requestID: id, message: .registerWorker(registration)), from: .workerLink(connection))
        )
    }

    /// Sends a RegisterWorker from `worker` whose header says minor version 0 (a 1.0 worker).
    mutating func registerAtMinorVersionZero(_ worker: UInt64) throws -> [CoordinatorDirective] {
        let registration = RegisterWorker(
            workerID: worker,
            endpoint: Self.endpoint(worker),
            role: .compute,
            hotPageCapacity: 100,
            storeBytes: 0,
            modelFingerprint: try Self.spec().fingerprint
        )
        var frames = try Envelope(requestID: 9, message: .registerWorker(registration)).encode()
        frames[0][5] = 0  // the header's minor version
        let envelope = try Envelope(frames: frames)
        guard envelope.senderMinorVersion == 0 else {
            throw Failure(description: "the patched registration reads as minor version \(envelope.senderMinorVersion)")
        }
        return handle(.received(envelope, from: .workerLink(Self.link(worker))))
    }

    /// Registers `worker` and answers its snapshot request with `keys` (none by default) and its
    /// shard list request with `shards` (none by default); returns the directives of the shard
    /// list's answer.
    @discardableResult
    mutating func join(
        _ worker: UInt64,
        hotPages: UInt64 = 1000,
        role: WorkerRole = .compute,
        keys: [PrefixKey] = [],
        shards: [ShardListReply.Shard] = []
    ) throws -> [CoordinatorDirective] {
        let directives = try register(worker, hotPages: hotPages, role: role)
        guard
            let request = Self.sent(to: worker, in: directives).first(where: {
                $0.message == .snapshotRequest(SnapshotRequest())
            })
        else {
            throw Failure(description: "no snapshot request after registering worker \(worker): \(directives)")
        }
        guard
            let list = Self.sent(to: worker, in: directives).first(where: {
                $0.message == .shardListRequest(ShardListRequest())
            })
        else {
            throw Failure(description: "no shard list request after registering worker \(worker): \(directives)")
        }
        _ = fromWorker(
            worker,
            request.requestID,
            .snapshotReply(SnapshotReply(workerID: worker, eventSequence: 0, keys: keys))
        )
        return fromWorker(worker, list.requestID, .shardListReply(ShardListReply(workerID: worker, shards: shards)))
    }

    mutating func fromLink(_ worker: UInt64, _ message: Message, requestID: UInt64? = nil) -> [CoordinatorDirective] {
        let id = requestID ?? nextLinkRequest
        nextLinkRequest += 1
        return handle(.received(Envelope(requestID: id, message: message), from: .workerLink(Self.link(worker))))
    }

    mutating func heartbeat(
        _ worker: UInt64,
        liveSequences: UInt32 = 0,
        freePages: UInt64 = 1000,
        cachedPages: UInt64 = 0,
        lastEvent: UInt64? = nil
    ) -> [CoordinatorDirective] {
        let beat = Heartbeat(
            workerID: worker,
            liveSequences: liveSequences,
            freePages: freePages,
            cachedPages: cachedPages,
            lastEventSequence: lastEvent ?? eventSequence[worker, default: 0]
        )
        return fromLink(worker, .heartbeat(beat))
    }

    /// Sends the worker's next numbered CacheEvent (or one numbered `sequence`).
    mutating func event(
        _ worker: UInt64,
        _ kind: CacheEvent.Kind,
        _ keys: [PrefixKey],
        sequence: UInt64? = nil
    ) -> [CoordinatorDirective] {
        let number = sequence ?? (eventSequence[worker, default: 0] + 1)
        eventSequence[worker] = max(eventSequence[worker, default: 0], number)
        return handle(
            .received(
                Envelope(
                    requestID: 0,
                    message: .cacheEvent(CacheEvent(workerID: worker, eventSequence: number, kind: kind, keys: keys))
                ),
                from: .workerLink(Self.link(worker))
            )
        )
    }

    /// A worker's answer on the coordinator's connection to it.
    mutating func fromWorker(_ worker: UInt64, _ requestID: UInt64, _ message: Message) -> [CoordinatorDirective] {
        handle(.received(Envelope(requestID: requestID, message: message), from: .worker(WorkerID(worker))))
    }

    // MARK: Client side

    /// Truncates sequence `id`, held by worker 1 up to past `length` and by worker 2 after it, to
    /// `length`: checks that worker 1 is told to truncate and worker 2 to close its shard without
    /// commit, acknowledges both, and checks the client's single `Ack`.
    mutating func truncateIntoFirstShard(
        _ id: UInt64,
        to length: Int,
        sourceLocation: SourceLocation = #_sourceLocation
    )
        throws
    {
        let (request, directives) = fromClient(.truncate(Truncate(sequenceID: id, length: UInt32(length))))
        let cut = try #require(Self.sent(to: 1, in: directives).first, sourceLocation: sourceLocation)
        let dropped = try #require(Self.sent(to: 2, in: directives).first, sourceLocation: sourceLocation)
        #expect(
            cut.message == .truncate(Truncate(sequenceID: id, length: UInt32(length))),
            sourceLocation: sourceLocation
        )
        #expect(
            dropped.message == .closeSequence(CloseSequence(sequenceID: id, commit: false)),
            sourceLocation: sourceLocation
        )
        _ = fromWorker(2, dropped.requestID, .ack(Ack()))
        let done = fromWorker(1, cut.requestID, .ack(Ack()))
        #expect(
            Self.answers(to: client, in: done) == [Envelope(requestID: request, message: .ack(Ack()))],
            sourceLocation: sourceLocation
        )
    }

    mutating func fromClient(_ message: Message) -> (requestID: UInt64, directives: [CoordinatorDirective]) {
        let id = nextClientRequest
        nextClientRequest += 1
        return (id, handle(.received(Envelope(requestID: id, message: message), from: .client(client))))
    }

    /// Opens a sequence of `tokens` and plays the placed worker (answering any pull, then the open
    /// with `cachedTokens`). Returns the sequence id and the worker it went to.
    mutating func open(
        _ tokens: [UInt32],
        namespace: String = "t",
        cachedTokens: UInt32 = 0
    ) throws -> (sequence: UInt64, worker: UInt64) {
        let (clientRequest, first) = fromClient(
            .openSequence(OpenSequence(sequenceID: 0, namespace: namespace, shardStart: 0, tokens: tokens))
        )
        var directives = first
        for _ in 0..<4 {
            guard let (worker, envelope) = Self.workerSends(in: directives).first else {
                throw Failure(description: "the open sent nothing to a worker: \(directives)")
            }
            switch envelope.message {
            case .pullPages(let pull):
                directives = fromWorker(
                    worker.rawValue,
                    envelope.requestID,
                    .pullPagesReply(PullPagesReply(pulled: pull.keys.map { _ in true }))
                )
            case .openSequence(let body):
                directives = fromWorker(
                    worker.rawValue,
                    envelope.requestID,
                    .openSequenceReply(OpenSequenceReply(sequenceID: body.sequenceID, cachedTokens: cachedTokens))
                )
                guard
                    let answer = Self.answers(to: client, in: directives).first(where: { $0.requestID == clientRequest }
                    ),
                    case .openSequenceReply(let reply) = answer.message
                else { throw Failure(description: "no OpenSequenceReply to the client: \(directives)") }
                return (reply.sequenceID, worker.rawValue)
            default:
                throw Failure(description: "unexpected \(envelope.message.type) during an open")
            }
        }
        throw Failure(description: "the open did not finish")
    }

    // MARK: Reading directives

    static func sent(to worker: UInt64, in directives: [CoordinatorDirective]) -> [Envelope] {
        directives.compactMap {
            if case .sendToWorker(let id, let envelope) = $0, id == WorkerID(worker) { envelope } else { nil }
        }
    }

    static func workerSends(in directives: [CoordinatorDirective]) -> [(WorkerID, Envelope)] {
        directives.compactMap { if case .sendToWorker(let id, let envelope) = $0 { (id, envelope) } else { nil } }
    }

    static func answers(to client: RoutingIdentity, in directives: [CoordinatorDirective]) -> [Envelope] {
        directives.compactMap {
            if case .answerClient(let id, let envelope) = $0, id == client { envelope } else { nil }
        }
    }

    /// The coordinator's counters by name, from a client's StatsRequest; empty when it answers
    /// something else.
    mutating func stats() -> [String: UInt64] {
        let (_, directives) = fromClient(.statsRequest(StatsRequest()))
        guard case .statsReply(let reply)? = Self.answers(to: client, in: directives).first?.message else { return [:] }
        return Dictionary(reply.counters.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
    }

    static func linkAnswers(in directives: [CoordinatorDirective]) -> [Envelope] {
        directives.compactMap { if case .answerWorkerLink(_, let envelope) = $0 { envelope } else { nil } }
    }

    static func errorCode(_ envelope: Envelope?) -> ErrorCode? {
        if case .errorReply(let error)? = envelope?.message { error.code } else { nil }
    }

    static func snapshotRequests(in directives: [CoordinatorDirective]) -> [(WorkerID, Envelope)] {
        workerSends(in: directives).filter { $0.1.message == .snapshotRequest(SnapshotRequest()) }
    }

    /// `pages` pages of distinct tokens starting at `first`.
    static func tokens(pages: Int, pageSize: Int = 4, first: UInt32 = 1) -> [UInt32] {
        (0..<UInt32(pages * pageSize)).map { first + $0 }
    }

    func keys(_ tokens: [UInt32], namespace: String = "t") -> [PrefixKey] {
        PrefixKey.chain(
            namespace: namespace,
            fingerprint: instance.configuration.spec.fingerprint,
            tokens: tokens,
            pageSize: pageSize
        )
    }
}

import CacheProtocol

/// The worker's side of its registration connection as a pure state machine: it says what to send
/// (RegisterWorker, a Heartbeat every tick once registered, CacheEvents, DeregisterWorker on
/// shutdown) and reacts to the coordinator's answers (accepted, refused, `notRegistered` → register
/// again, the deregistration's answer → left). The caller owns the socket and the clock.
struct CoordinatorLink: Sendable {
    /// Where the registration stands.
    enum State: Sendable, Equatable {
        /// Not registered and not asking (before `start`).
        case idle
        /// A RegisterWorker with this request id awaits its answer.
        case registering(requestID: UInt64)
        /// Accepted: heartbeats and events flow.
        case registered
        /// The coordinator refused the worker.
        case refused(reason: String)
        /// A DeregisterWorker with this request id awaits its answer; nothing else is sent.
        case deregistering(requestID: UInt64)
        /// The worker has left the cluster (its deregistration was answered, or it shut down
        /// before it was registered); nothing more is sent.
        case left
    }

    /// What the caller must do.
    enum Directive: Sendable, Equatable {
        /// Send this message on the registration connection.
        case send(Envelope)
        /// The coordinator refused the worker, for this reason; nothing more is sent.
        case refused(reason: String)
        /// Heartbeat at this interval from now on: the coordinator's, given at registration.
        case heartbeatEvery(Duration)
    }

    /// The worker's load, as a heartbeat reports it.
    struct Status: Sendable, Equatable {
        /// Open sequences.
        var liveSequences: Int
        /// Free hot pages.
        var freePages: Int
        /// Pages held in the prefix cache, all tiers.
        var cachedPages: Int
        /// Hot pages holding cached pages no sequence uses.
        var evictablePages = 0
        /// KV pages received from other workers since start.
        var peerPagesReceived: UInt64 = 0
        /// Their bytes decoded.
        var peerBytesReceivedRaw: UInt64 = 0
        /// Their bytes as they travelled.
        var peerBytesReceivedEncoded: UInt64 = 0
    }

    /// Ticks without an answer after which a RegisterWorker is sent again.
    static let registrationRetryTicks = 5

    /// The registration this link sends.
    let registration: RegisterWorker
    /// Event numbers dropped instead of sent (a test hook: `WorkerConfiguration.droppedCacheEvents`).
    /// A dropped event still counts as sent in heartbeats, as an event lost on the way would.
    let droppedEvents: Set<UInt64>
    /// Where the registration stands.
    private(set) var state: State = .idle
    /// `eventSequence` of the last CacheEvent sent (0 if none).
    private(set) var lastEventSent: UInt64 = 0
    /// The heartbeat terms of a coordinator of minor version 1 or later (`RegisterWorkerAccepted`),
    /// which takes `HeartbeatReport`s; `nil` for one that answered `RegisterWorkerReply`, which
    /// takes plain `Heartbeat`s at the worker's own interval.
    private(set) var terms: RegisterWorkerAccepted?
    private var nextRequestID: UInt64 = 1
    private var ticksWaiting = 0
    /// Request ids of the RegisterWorker messages sent while registering, newest last: an answer
    /// to an earlier one that arrives after a retry is as good as an answer to the latest.
    private var registrationsSent: [UInt64] = []
    /// How many of them are remembered.
    private static let rememberedRegistrations = 8

    /// A link that will register as `registration` says, and drop the events numbered in
    /// `droppedEvents` instead of sending them.
    init(registration: RegisterWorker, droppedEvents: Set<UInt64> = []) {
        self.registration = registration
        self.droppedEvents = droppedEvents
    }

    /// Starts registering.
    mutating func start() -> [Directive] {
        let id = takeRequestID()
        if case .registering = state {} else { registrationsSent = [] }
        registrationsSent = Array((registrationsSent + [id]).suffix(Self.rememberedRegistrations))
        state = .registering(requestID: id)
        ticksWaiting = 0
        return [.send(Envelope(requestID: id, message: .registerWorker(registration)))]
    }

    /// One heartbeat interval has passed: a Heartbeat when registered, a repeated RegisterWorker
    /// when the last one has gone unanswered too long.
    mutating func tick(status: Status) -> [Directive] {
        switch state {
        case .registered:
            let heartbeat = Heartbeat(
                workerID: registration.workerID,
                liveSequences: UInt32(clamping: status.liveSequences),
                freePages: UInt64(status.freePages),
                cachedPages: UInt64(status.cachedPages),
                lastEventSequence: lastEventSent
            )
            let message: Message =
                terms == nil
                ? .heartbeat(heartbeat)
                : .heartbeatReport(
                    HeartbeatReport(
                        heartbeat: heartbeat,
                        evictablePages: UInt64(max(0, status.evictablePages)),
                        peerPagesReceived: status.peerPagesReceived,
                        peerBytesReceivedRaw: status.peerBytesReceivedRaw,
                        peerBytesReceivedEncoded: status.peerBytesReceivedEncoded
                    )
                )
            return [.send(Envelope(requestID: takeRequestID(), message: message))]
        case .registering:
            ticksWaiting += 1
            return ticksWaiting >= Self.registrationRetryTicks ? start() : []
        case .idle, .refused, .deregistering, .left:
            return []
        }
    }

    /// The worker shuts down: a DeregisterWorker when registered (the link then waits for its
    /// answer); otherwise nothing, and the link has left.
    mutating func deregister() -> [Directive] {
        guard state == .registered else {
            if case .refused = state { return [] }
            state = .left
            return []
        }
        let id = takeRequestID()
        state = .deregistering(requestID: id)
        return [
            .send(
                Envelope(requestID: id, message: .deregisterWorker(DeregisterWorker(workerID: registration.workerID)))
            )
        ]
    }

    /// Whether nothing more is to be sent or awaited: the worker has left, or was refused.
    var isFinished: Bool {
        switch state {
        case .left, .refused: true
        case .idle, .registering, .registered, .deregistering: false
        }
    }

    /// Reacts to a message from the coordinator.
    mutating func received(_ envelope: Envelope) -> [Directive] {
        if case .deregistering(let id) = state {
            // Ack, or an ErrorReply (`notRegistered` from a coordinator that no longer knows the
            // worker): either way it has left.
            switch envelope.message {
            case .ack, .errorReply: if envelope.requestID == id { state = .left }
            default: break
            }
            return []
        }
        switch envelope.message {
        case .registerWorkerReply(let reply):
            guard case .registering = state, registrationsSent.contains(envelope.requestID) else { return [] }
            switch reply.outcome {
            case .accepted(let spec): return accepted(spec, terms: nil)
            case .refused(let reason):
                state = .refused(reason: reason)
                return [.refused(reason: reason)]
            }
        case .registerWorkerAccepted(let acceptance):
            guard case .registering = state, registrationsSent.contains(envelope.requestID) else { return [] }
            return accepted(acceptance.spec, terms: acceptance)
        case .errorReply(let error) where error.code == .notRegistered:
            guard state == .registered else { return [] }
            return start()
        default:
            return []
        }
    }

    /// The events to send now: all of them when registered (the coordinator detects any that were
    /// not sent by the gap in their numbers, and asks for a snapshot), none otherwise. Tier moves
    /// go as `CacheTierEvent` to a coordinator that gave its terms (1.1), else as `CacheEvent`
    /// `stored`. Events numbered in `droppedEvents` are left out.
    mutating func publish(_ events: [NumberedCacheEvent]) -> [Directive] {
        guard state == .registered else { return [] }
        if let last = events.last { lastEventSent = last.eventSequence }
        let tiers = terms != nil
        return events.filter { !droppedEvents.contains($0.eventSequence) }.map {
            .send(Envelope(requestID: 0, message: $0.message(tiers: tiers)))
        }
    }

    /// The coordinator accepted the worker into a cluster serving `spec`, with `terms` when it
    /// gave them: registered (heartbeats at the coordinator's interval from now on), or refused
    /// when the cluster serves another model.
    private mutating func accepted(_ spec: ModelSpec, terms: RegisterWorkerAccepted?) -> [Directive] {
        guard spec.fingerprint == registration.modelFingerprint else {
            let reason = "the cluster's model \(spec) is not this worker's model"
            state = .refused(reason: reason)
            return [.refused(reason: reason)]
        }
        state = .registered
        self.terms = terms
        return terms.map { [.heartbeatEvery(.milliseconds(Int64($0.heartbeatMilliseconds)))] } ?? []
    }

    private mutating func takeRequestID() -> UInt64 {
        defer { nextRequestID += 1 }
        return nextRequestID
    }
}

import CacheProtocol

/// The coordinator's logic as a pure state machine. It holds the worker registry and health, the
/// global prefix index, the sequence table and the pending requests; it opens no socket, reads no
/// clock and runs no kernel. A shell feeds it every input (`CoordinatorInput`) with the instant it
/// happened and performs the directives (`CoordinatorDirective`) it returns, in order.
///
/// What it promises (docs/COORDINATOR.md has the details and every constant):
/// - every client request gets exactly one answer, within `configuration.answerBound` of its
///   arrival plus one tick;
/// - a malformed or unexpected message is answered with an `ErrorReply` (or, unanswerable,
///   dropped) and changes nothing;
/// - a worker silent for `configuration.silenceLimit` is dead at the next tick: its sequences fail,
///   everything in flight to it is answered `unavailable` at once, other workers' sequences go on;
/// - the prefix index follows each worker's numbered events and falls back to a snapshot whenever
///   it cannot be sure it is exact.
public struct CoordinatorInstance: Sendable {
    /// The configuration it was made with.
    public let configuration: CoordinatorConfiguration
    let fingerprint: ModelFingerprint
    var registry = WorkerRegistry()
    var index: PrefixIndex
    var keyCache: PrefixKeyCache
    /// The SHA-256 chain the last placement computed keys with, and its namespace: the next
    /// prompt of that namespace reuses it instead of making one.
    var keyChain: (namespace: String, chain: PrefixKeyChain)?
    var sequences: SequenceTable
    var pending = PendingRequests()
    var recovery = SequenceRecovery()
    var counters = CoordinatorCounters()
    var replication = ReplicationTracker()
    var nextSequenceID: UInt64
    var roundRobinAfter = -1
    /// Workers being drained, by id.
    var drains: [WorkerID: DrainProgress] = [:]
    /// Client requests held while their sequences move, in arrival order.
    var held: [HeldRequest] = []

    /// A coordinator with no workers and no sequences.
    public init(configuration: CoordinatorConfiguration) {
        self.configuration = configuration
        fingerprint = configuration.spec.fingerprint
        index = PrefixIndex(seed: configuration.indexSeed, expectedKeys: configuration.expectedIndexKeys)
        keyCache = PrefixKeyCache(
            pageSize: configuration.spec.pageSize,
            byteBudget: configuration.prefixKeyCacheBytes,
            hash: PrefixTokenHash(seed: configuration.indexSeed ^ PrefixTokenHash.seedTweak)
        )
        sequences = SequenceTable(failureMemory: configuration.failedSequenceMemory)
        nextSequenceID = max(1, configuration.firstSequenceID)
    }

    /// Takes one input that happened at `now` (never earlier than a previous input's instant) and
    /// returns what to do, in order.
    public mutating func handle(_ input: CoordinatorInput, at now: MonotonicInstant) -> [CoordinatorDirective] {
        var out: [CoordinatorDirective] = []
        startRecoveryIfNeeded(at: now)
        switch input {
        case .received(let envelope, .client(let client)):
            clientRequest(envelope, from: client, at: now, into: &out)
        case .received(let envelope, .workerLink(let link)):
            linkMessage(envelope, from: link, at: now, into: &out)
        case .received(let envelope, .worker(let worker)):
            workerAnswer(
                envelope.requestID,
                outcome: PartOutcome(answer: envelope.message),
                from: worker,
                at: now,
                into: &out
            )
        case .undecodable(.client(let client), let requestID?, let code, let reason):
            counters.clientRequests += 1
            counters.clientErrors += 1
            out.append(
                .answerClient(
                    client,
                    Envelope(requestID: requestID, message: .errorReply(ErrorReply(code: code, message: reason)))
                )
            )
        case .undecodable(.workerLink(let link), let requestID?, let code, let reason) where requestID != 0:
            out.append(
                .answerWorkerLink(
                    link,
                    Envelope(requestID: requestID, message: .errorReply(ErrorReply(code: code, message: reason)))
                )
            )
        case .undecodable(.worker(let worker), let requestID?, _, let reason):
            workerAnswer(
                requestID,
                outcome: .lost("worker \(worker) answered something undecodable: \(reason)"),
                from: worker,
                at: now,
                into: &out
            )
        case .undecodable:
            break
        case .sendFailed(let worker, let requestID, let reason):
            let error = ErrorReply(
                code: .unavailable,
                message: "the request could not be sent to worker \(worker): \(reason)"
            )
            workerAnswer(requestID, outcome: .refused(error), from: worker, at: now, into: &out)
        case .tick:
            tick(at: now, into: &out)
        }
        if !drains.isEmpty || !held.isEmpty { advanceDrains(at: now, into: &out) }
        return out
    }

    // MARK: Dispatch

    private mutating func clientRequest(
        _ envelope: Envelope,
        from client: RoutingIdentity,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        counters.clientRequests += 1
        if holdIfMoving(envelope, from: client, at: now) { return }
        let held = route(
            envelope,
            from: client,
            deadline: now.advanced(by: configuration.answerBound),
            at: now,
            into: &out
        )
        if held { counters.requestsHeld += 1 }
    }

    /// Starts the work of a client request, or holds it during the recovery window when it names
    /// a sequence not known yet (`deadline`: by when a held request is answered); returns whether
    /// it was held.
    @discardableResult
    mutating func route(
        _ envelope: Envelope,
        from client: RoutingIdentity,
        deadline: MonotonicInstant,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) -> Bool {
        if holdIfRecovering(envelope, client: client, deadline: deadline) { return true }
        let id = envelope.requestID
        switch envelope.message {
        case .openSequence(let body):
            openSequence(body, client: client, requestID: id, deadline: deadline, at: now, into: &out)
        case .prefill(let body): prefill(body, client: client, requestID: id, deadline: deadline, at: now, into: &out)
        case .decode(let body): decode(body, client: client, requestID: id, deadline: deadline, at: now, into: &out)
        case .truncate(let body): truncate(body, client: client, requestID: id, deadline: deadline, at: now, into: &out)
        case .closeSequence(let body):
            close(body, client: client, requestID: id, deadline: deadline, at: now, into: &out)
        case .drain(let body): drain(body, client: client, requestID: id, at: now, into: &out)
        case .statsRequest:
            out.append(.answerClient(client, Envelope(requestID: id, message: .statsReply(statsReply(at: now)))))
        default:
            refuse(.unexpected(envelope.message.type, connection: "client"), client: client, requestID: id, into: &out)
        }
        return false
    }

    private mutating func linkMessage(
        _ envelope: Envelope,
        from link: RoutingIdentity,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        let id = envelope.requestID
        switch envelope.message {
        case .registerWorker(let body):
            register(
                body,
                link: link,
                requestID: id,
                workerMinorVersion: envelope.senderMinorVersion,
                at: now,
                into: &out
            )
        case .heartbeat(let body):
            heartbeat(body, load: ReportedLoad(body), link: link, requestID: id, at: now, into: &out)
        case .heartbeatReport(let body):
            heartbeat(body.heartbeat, load: ReportedLoad(body), link: link, requestID: id, at: now, into: &out)
        case .cacheEvent(let body): cacheEvent(.held(body), at: now, into: &out)
        case .cacheTierEvent(let body): cacheEvent(.tier(body), at: now, into: &out)
        case .deregisterWorker(let body): deregister(body, link: link, requestID: id, at: now, into: &out)
        default:
            let refusal = RequestRefusal.unexpected(envelope.message.type, connection: "worker registration")
            out.append(.answerWorkerLink(link, Envelope(requestID: id, message: .errorReply(refusal.reply))))
        }
    }

    private mutating func workerAnswer(
        _ requestID: UInt64,
        outcome: PartOutcome,
        from worker: WorkerID,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        guard let request = pending.take(requestID, from: worker) else {
            counters.lateReplies += 1
            out.append(.notice(.lateReply(worker, requestID: requestID)))
            return
        }
        deliver(request, outcome, at: now, into: &out)
    }

    /// Hands the outcome of `request` to whatever awaits it.
    mutating func deliver(
        _ request: WorkerRequest,
        _ outcome: PartOutcome,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        switch request.purpose {
        case .snapshot:
            snapshotAnswered(request, outcome, at: now, into: &out)
        case .shardList:
            shardListAnswered(request, outcome, at: now, into: &out)
        case .cleanup:
            break
        case let .drain(drained, step):
            drainAnswered(drained, step, request, outcome, at: now, into: &out)
        case .replication(let pull):
            replicationAnswered(pull, outcome, at: now, into: &out)
        case .operation(let operation, let part):
            guard let work = pending[operation: operation]?.work else { return }
            switch work {
            case .open: advanceOpen(operation, outcome, at: now, into: &out)
            case .prefill: advancePrefill(operation, outcome, at: now, into: &out)
            case .decode: advanceDecode(operation, part: part, outcome, at: now, into: &out)
            case .truncate: advanceTruncate(operation, part: part, outcome, at: now, into: &out)
            case .close: advanceClose(operation, part: part, outcome, at: now, into: &out)
            }
        }
    }

    // MARK: Answers

    /// Answers a client request that started no operation with `refusal`.
    mutating func refuse(
        _ refusal: RequestRefusal,
        client: RoutingIdentity,
        requestID: UInt64,
        into out: inout [CoordinatorDirective]
    ) {
        counters.clientErrors += 1
        out.append(.answerClient(client, Envelope(requestID: requestID, message: .errorReply(refusal.reply))))
    }

    /// Ends operation `operation` with the answer `message` to its client.
    mutating func complete(_ operation: UInt64, with message: Message, into out: inout [CoordinatorDirective]) {
        guard let finished = pending.finish(operation) else { return }
        if case .errorReply = message { counters.clientErrors += 1 }
        out.append(.answerClient(finished.client, Envelope(requestID: finished.requestID, message: message)))
    }

    /// Ends operation `operation` with `refusal`.
    mutating func complete(_ operation: UInt64, refusal: RequestRefusal, into out: inout [CoordinatorDirective]) {
        complete(operation, with: .errorReply(refusal.reply), into: &out)
    }

    /// Sends `message` to `worker` as part `part` of `operation`, due by the operation's deadline
    /// or `timeout`, whichever comes first.
    mutating func send(
        _ message: Message,
        to worker: WorkerID,
        operation: UInt64,
        part: Int,
        timeout: Duration? = nil,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        guard let deadline = pending[operation: operation]?.deadline else { return }
        let due = timeout.map { min(deadline, now.advanced(by: $0)) } ?? deadline
        let id = pending.issue(to: worker, purpose: .operation(operation, part: part), deadline: due)
        out.append(.sendToWorker(worker, Envelope(requestID: id, message: message)))
    }

    /// The `PullPages` that has a worker fetch `keys` from the worker in slot `source` (the one way
    /// the coordinator asks for a pull: before a placement, for a drain, for replication).
    func pullPages(_ keys: [PrefixKey], from source: Int) -> Message {
        .pullPages(PullPages(peerEndpoint: registry[source].endpoint, keys: keys))
    }

    // MARK: Accounting

    /// Adds (`sign` +1) or removes (-1) the pages and shard counts of `record` to its workers' loads.
    mutating func account(_ record: SequenceRecord, _ sign: Int) {
        for index in record.shards.indices {
            let slot = record.shards[index].slot
            registry[slot].pinnedPages += sign * record.pages(ofShard: index, pageSize: configuration.spec.pageSize)
            registry[slot].shards += sign
        }
    }

    /// Replaces sequence `id` by what `change` makes of it, keeping the workers' loads exact.
    mutating func updateSequence(_ id: UInt64, _ change: (inout SequenceRecord) -> Void) {
        guard var record = sequences[id] else { return }
        account(record, -1)
        change(&record)
        account(record, +1)
        sequences[id] = record
    }

    /// Looks up an open sequence for a client request; answers the refusal and returns nil when
    /// there is none (failed sequences are `unavailable`, others `unknownSequence`).
    mutating func openSequenceRecord(
        _ id: UInt64,
        client: RoutingIdentity,
        requestID: UInt64,
        into out: inout [CoordinatorDirective]
    ) -> SequenceRecord? {
        if let record = sequences[id], record.phase == .open { return record }
        if let reason = sequences.failure(of: id) {
            refuse(.sequenceFailed(id, reason: reason), client: client, requestID: requestID, into: &out)
        } else {
            refuse(.unknownSequence(id), client: client, requestID: requestID, into: &out)
        }
        return nil
    }

    // MARK: Inspection

    /// The state of worker `id`, `nil` for an unknown worker.
    public func state(of id: WorkerID) -> WorkerState? {
        registry.slot(of: id).map { registry[$0].state }
    }

    /// Open and opening sequences.
    public var sequenceCount: Int { sequences.count }

    /// (key, worker) pages in the prefix index.
    public var indexedPages: Int { index.pageCount }

    /// Distinct keys in the prefix index.
    public var indexedKeys: Int { index.keyCount }

    /// Whether worker `id` holds `key` according to the index.
    public func indexHolds(_ key: PrefixKey, on id: WorkerID) -> Bool {
        guard let slot = registry.slot(of: id) else { return false }
        return index.tier(of: key, slot: slot) != nil
    }

    /// Client operations awaiting an answer.
    public var pendingOperations: Int { pending.operations.count }

    /// Requests to workers awaiting an answer.
    public var pendingWorkerRequests: Int { pending.requests.count }

    /// Whether the recovery window is open (unknown sequences' requests are held).
    public var isRecovering: Bool { recovery.isOpen }

    /// Client requests held until the sequences they name are known.
    public var heldRequests: Int { recovery.held.count }

    /// The workers holding shards of sequence `id`, tail last; empty for an unknown sequence.
    public func shards(of id: UInt64) -> [(worker: WorkerID, start: Int)] {
        sequences[id]?.shards.map { ($0.worker, $0.start) } ?? []
    }
}

import CacheProtocol
import Kernels

/// The worker's request path as a pure state machine. It owns the KV store (`SequenceManager`: the
/// page pools, the open sequences and their block tables, the hot prefix cache and the keys held
/// below it), the shards of the open sequences, the set of keys the events have announced, the
/// event numbering and the counters. It takes inputs and returns `WorkerDirective`s; it never
/// awaits, opens no socket, reads no clock, calls no kernel and touches no tier, so a test drives it
/// with requests and answers and checks what it says. `WorkerService` is its shell.
///
/// Inputs:
/// - `handle(_:)`: a decoded request.
/// - `resume(_:with:)`: what the shell fetched for a request that asked for it (`FollowUpInput`).
/// - `attentionFinished(_:_:)`: the outcome of an attention job the shell ran.
/// - `lowerTiersLost(_:)`: keys the lower tiers dropped while the shell performed a directive
///   (`demote`, `writeDurableCopy`).
/// - `adoptLowerTierKeys(_:)` at start and `durableCopy(of:)` before exit.
///
/// Every request is checked against the model spec, the role and the sequence's state; a refusal
/// is an `ErrorReply` with the matching code and changes nothing the reply does not report.
///
/// **Requests that need data from elsewhere are two-phase.** An `OpenSequence` whose leading pages
/// lie below the hot pool, a `PageGet` or `PrefetchPages` of such pages, a `PageContains` of keys
/// that are not hot, a `PullPages` and an `AdoptShard` return a directive that asks
/// (`fetchFromLowerTiers`, `askLowerTiersContain`, `fetchFromPeer`, `exportFromPeer`) and carries a
/// `PendingRequest`; the shell performs it and hands the answer back with `resume(_:with:)`, which
/// finishes the request or asks again (a pull asks the tiers, then the peer batch by batch; an
/// adoption asks the shard's source run by run). Only what the instance knows to be below
/// the hot pool is fetched: every key enters the lower tiers through a `demote` directive or the
/// adoption at start, so `SequenceManager` knows them all.
///
/// **Attention runs outside.** A prefill or decode appends its keys and values, then returns
/// `runAttention` with an `AttentionJob`; the shell runs the kernels and calls
/// `attentionFinished(_:_:)`, which counts and answers.
///
/// **Events are numbered when their cause happens**: every input that changes the set of held keys
/// returns the events it caused, numbered in that same call (`publish`). Calls are serialised by
/// the shell, so events of requests served side by side are numbered in the order their changes
/// were made.
struct WorkerInstance: Sendable {
    /// The model every request and page must match.
    let spec: ModelSpec
    /// Compute (sequences and pages) or store (pages only).
    let role: WorkerRole
    /// The id this worker registers and reports under.
    let workerID: UInt64
    /// The layout of the model's pages.
    let layout: PageLayout
    /// The model's fingerprint, part of every prefix key.
    let fingerprint: ModelFingerprint
    /// Encodes pages for answers and decodes put pages.
    let codec: PageCodec
    /// Threads of each kernel call (`nil`: every core).
    let threads: Int?
    /// Pages, sequences and the hot prefix cache.
    var manager: SequenceManager
    /// The shard of every open sequence.
    var shards: [SequenceID: SequenceShard] = [:]
    /// Keys held in any tier, as the events have announced them.
    var held: Set<PrefixKey> = []
    /// The held keys the events have announced in a lower tier (`demotionTier`).
    var heldBelow: Set<PrefixKey> = []
    /// The tier a page evicted from the hot pool goes to, as events and snapshots report it: the
    /// first lower tier configured.
    let demotionTier: CacheTier
    /// `eventSequence` of the last event numbered (0 before any).
    var lastEvent: UInt64 = 0
    /// Whether a `Drain` has been taken: no new sequences.
    var isDraining = false
    /// Running totals for `StatsRequest`.
    var counters = WorkerCounters()

    /// An instance for `spec` with a hot pool of `pageCount` pages; `threads` caps the threads of
    /// each kernel call (`nil`: every core). Throws when the model's pages cannot be laid out or
    /// the pool cannot be made.
    init(
        spec: ModelSpec,
        role: WorkerRole,
        workerID: UInt64,
        pageCount: Int,
        threads: Int? = nil,
        demotionTier: CacheTier = .compressedMemory
    ) throws(StorageError) {
        let geometry = try PageGeometry(
            layers: spec.layers,
            kvHeads: spec.kvHeads,
            headDim: spec.headDim,
            pageSize: spec.pageSize,
            storage: spec.kvStorage
        )
        do {
            layout = try PageLayout(
                layers: spec.layers,
                pageSize: spec.pageSize,
                kvHeads: spec.kvHeads,
                headDim: spec.headDim,
                storage: spec.kvStorage
            )
        } catch {
            throw .invalidGeometry(error.description)
        }
        manager = try SequenceManager(geometry: geometry, pageCount: pageCount, evictionPolicy: .demote)
        self.spec = spec
        self.role = role
        self.workerID = workerID
        self.fingerprint = spec.fingerprint
        self.codec = PageCodec()
        self.threads = threads
        self.demotionTier = demotionTier
    }

    // MARK: Status

    /// Open sequences.
    var liveSequenceCount: Int { shards.count }
    /// Hot pages neither used nor cached.
    var freePageCount: Int { manager.allocator.freeCount }
    /// Keys held in any tier, as the events have announced them.
    var heldKeyCount: Int { held.count }
    /// Hot pages holding cached prefix pages that no sequence uses.
    var evictablePageCount: Int { manager.cache.idleCount }

    /// Counts `pages`, just stored, as received from a peer.
    mutating func countReceivedFromPeer(_ pages: [EncodedPage]) {
        counters.peerPagesReceived += UInt64(pages.count)
        counters.peerBytesReceivedRaw += UInt64(pages.count * manager.geometry.bytesPerPage)
        counters.peerBytesReceivedEncoded += pages.reduce(0) { $0 + UInt64($1.bytes.count) }
    }

    // MARK: Inputs

    /// Takes one request. The directives end with its answer (`reply`, or the job or question that
    /// leads to it); a message the worker does not handle (a coordinator's request, or any reply
    /// type such as `Ack` or `ErrorReply`) is answered `ErrorReply` `badRequest`; only `CacheEvent`
    /// is never answered.
    mutating func handle(_ request: Envelope) -> [WorkerDirective] {
        counters.requests += 1
        var effects: [WorkerDirective] = []
        let next: [WorkerDirective]
        do throws(ServiceError) {
            next = try answer(request, effects: &effects)
        } catch {
            next = refuse(request.requestID, request.message.type, error)
        }
        return finish(effects, next)
    }

    /// Takes what the shell fetched for `pending` and goes on with the request: its answer, or the
    /// next question. An input that does not answer the pending step is refused as `internal`.
    mutating func resume(_ pending: PendingRequest, with input: FollowUpInput) -> [WorkerDirective] {
        var effects: [WorkerDirective] = []
        let next: [WorkerDirective]
        do throws(ServiceError) {
            next = try proceed(pending, with: input, effects: &effects)
        } catch {
            next = refuse(pending.requestID, pending.messageType, error)
        }
        return finish(effects, next)
    }

    /// Takes the outcome of `job` and answers its request: the reply made of the results, or the
    /// refusal naming the sequences the kernel refused.
    mutating func attentionFinished(_ job: AttentionJob, _ outcome: AttentionOutcome) -> [WorkerDirective] {
        let next: [WorkerDirective]
        switch outcome {
        case .computed(let results):
            do throws(ServiceError) {
                next = reply(job.requestID, try job.message(from: results))
                switch job.answer {
                case .prefill: counters.prefillTokens += UInt64(job.rows)
                case .decode: counters.decodeRows += UInt64(job.rows)
                }
            } catch {
                next = refuse(job.requestID, job.answer.requestType, error)
            }
        case let .refused(call, error):
            next = refuse(job.requestID, job.answer.requestType, job.refusal(call: call, error))
        }
        return finish([], next)
    }

    // MARK: Requests

    /// The directives that answer `request` (or lead to its answer); effects on the tiers made on
    /// the way are added to `effects`, also when the request is then refused.
    private mutating func answer(
        _ request: Envelope,
        effects: inout [WorkerDirective]
    ) throws(ServiceError) -> [WorkerDirective] {
        let id = request.requestID
        switch request.message {
        case .openSequence(let body):
            return try open(body, requestID: id, fetched: false, effects: &effects)
        case .prefill(let body):
            return [.runAttention(try prefill(body, requestID: id, effects: &effects))]
        case .decode(let body):
            return [.runAttention(try decode(body, requestID: id, effects: &effects))]
        case .truncate(let body):
            try truncate(body)
            return ack(id)
        case .sealShard(let body):
            try seal(body)
            return ack(id)
        case .closeSequence(let body):
            try close(body, effects: &effects)
            return ack(id)
        case .pagePut(let body):
            try put(body.pages, effects: &effects)
            return ack(id)
        case .pageGet(let body):
            return try get(body.keys, requestID: id)
        case .pageContains(let body):
            return contains(body.keys, requestID: id)
        case .pageRemove(let body):
            try remove(body.keys, effects: &effects)
            return ack(id)
        case .pullPages(let body):
            return pull(body, requestID: id)
        case .prefetchPages(let body):
            return try prefetch(body.keys, requestID: id)
        case .shardExport(let body):
            return try exportShard(body, requestID: id)
        case .adoptShard(let body):
            return try adoptShard(body, requestID: id)
        case .snapshotRequest:
            return reply(id, snapshot(forMinorVersion: request.senderMinorVersion))
        case .shardListRequest:
            return reply(id, .shardListReply(shardList()))
        case .statsRequest:
            return [.replyWithTierStatistics(requestID: id, counters: statistics())]
        case .drain(let body):
            guard body.workerID == workerID else {
                throw .badRequest("drain names worker \(body.workerID), this is worker \(workerID)")
            }
            isDraining = true
            return ack(id)
        case .cacheEvent, .cacheTierEvent:
            return []
        case .registerWorker, .heartbeat, .heartbeatReport, .deregisterWorker:
            throw .badRequest("\(request.message.type) is for the coordinator, not a worker")
        case .registerWorkerReply, .registerWorkerAccepted, .ack, .errorReply, .openSequenceReply, .prefillReply,
            .decodeReply, .pageGetReply, .pageContainsReply, .pullPagesReply, .prefetchPagesReply, .snapshotReply,
            .tierSnapshotReply, .shardListReply, .statsReply, .adoptShardReply, .shardExportReply:
            throw .badRequest("\(request.message.type) is a reply; a worker takes no replies on its endpoint")
        }
    }

    /// Goes on with a request that waited for `input`.
    private mutating func proceed(
        _ pending: PendingRequest,
        with input: FollowUpInput,
        effects: inout [WorkerDirective]
    ) throws(ServiceError) -> [WorkerDirective] {
        let id = pending.requestID
        switch (pending.step, input) {
        case let (.open(body, asked), .lowerTierPages(pages)):
            admit(fetched: pages, asked: asked, effects: &effects)
            return try open(body, requestID: id, fetched: true, effects: &effects)
        case let (.get(keys, asked), .lowerTierPages(pages)):
            // The answer is taken before the admissions, which may evict requested hot pages.
            let answer = try encodedPages(keys, fetched: pages)
            admit(fetched: pages, asked: asked, effects: &effects)
            return reply(id, .pageGetReply(PageGetReply(pages: answer)))
        case let (.prefetch(keys, asked), .lowerTierPages(pages)):
            admit(fetched: pages, asked: asked, effects: &effects)
            return reply(id, .prefetchPagesReply(PrefetchPagesReply(hot: keys.map(isHot))))
        case let (.contains(keys, asked), .lowerTierPresence(present)):
            let below = try heldBelow(asked, present)
            return reply(
                id,
                .pageContainsReply(PageContainsReply(present: keys.map { isHot($0) || below.contains($0) }))
            )
        case let (.pullPresence(body, asked), .lowerTierPresence(present)):
            let below = try heldBelow(asked, present)
            let wanted = asked.filter { !below.contains($0) && !isHot($0) }
            return pullNext(body, requestID: id, wanted: wanted, heldBelow: below)
        case let (.pullBatch(body, batch, remaining, below), .peerPages(result)):
            let pages: [EncodedPage]
            switch result {
            case .success(let fetched): pages = fetched
            case .failure(let error): throw error
            }
            let requested = Set(batch)
            let received = pages.filter { requested.contains($0.key) }
            try put(received, effects: &effects)
            countReceivedFromPeer(received)
            return pullNext(body, requestID: id, wanted: remaining, heldBelow: below)
        case let (.adopt(body, received), .peerShard(answer)):
            return try adoptShard(body, requestID: id, received: received, answer: answer, effects: &effects)
        case (.open, _), (.get, _), (.prefetch, _), (.contains, _), (.pullPresence, _), (.pullBatch, _), (.adopt, _):
            throw .internal("the answer the \(pending.messageType) waited for is of another kind")
        }
    }

    /// The keys of `asked` whose flag in `present` is set; refuses flags that do not match the keys.
    private func heldBelow(_ asked: [PrefixKey], _ present: [Bool]) throws(ServiceError) -> Set<PrefixKey> {
        guard present.count == asked.count else {
            throw .internal("the lower tiers answered \(present.count) flags for \(asked.count) keys")
        }
        return Set(zip(asked, present).filter(\.1).map(\.0))
    }

    // MARK: Answers

    /// The directive that answers `requestID` with `message`.
    func reply(_ requestID: UInt64, _ message: Message) -> [WorkerDirective] {
        [.reply(Envelope(requestID: requestID, message: message))]
    }

    /// The directive that acknowledges `requestID`.
    func ack(_ requestID: UInt64) -> [WorkerDirective] {
        reply(requestID, .ack(Ack()))
    }

    /// Counts a refusal and answers it.
    private mutating func refuse(_ requestID: UInt64, _ type: MessageType, _ error: ServiceError) -> [WorkerDirective] {
        counters.errors += 1
        return [
            .log(.debug, "refused \(type) #\(requestID): \(error)"),
            .reply(Envelope(requestID: requestID, message: .errorReply(error.reply))),
        ]
    }

    /// `effects`, then the events the call caused (numbered now), then `next`.
    mutating func finish(_ effects: [WorkerDirective], _ next: [WorkerDirective]) -> [WorkerDirective] {
        let events = takeEvents()
        return effects + (events.isEmpty ? [] : [.publish(events)]) + next
    }
}

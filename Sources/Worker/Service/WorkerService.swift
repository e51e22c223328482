import CacheProtocol
import Kernels
import Logging
import Synchronization

/// The shell of a `WorkerInstance`: it holds the instance behind a mutex, the lower tiers, the
/// peers and the attention runner, turns each request into the instance's inputs and performs the
/// directives that come back: it awaits the tiers and the peers and hands their answers back to
/// the instance, runs attention jobs on the kernels' thread (`AttentionRunner`), and gathers the
/// answer and the numbered events of the request.
///
/// The instance is only ever touched for the length of one synchronous call, never across an
/// await and never while a kernel computes, so the status below is readable at any time and a
/// `PullPages` waiting on its peer does not hold up the requests served beside it.
final class WorkerService: Sendable {
    /// The model every request and page must match.
    let spec: ModelSpec
    /// Compute (sequences and pages) or store (pages only).
    let role: WorkerRole
    /// The id this worker registers and reports under.
    let workerID: UInt64
    /// The status heartbeats report, published after every request, and whether a drain has ended.
    let statusBoard: WorkerStatusBoard
    private let instance: Mutex<WorkerInstance>
    /// Where the events go as they are numbered (the coordinator link), if anywhere.
    private let eventSink = Mutex<(@Sendable ([NumberedCacheEvent]) -> Void)?>(nil)
    private let tiers: any LowerTiers
    private let peers: any PagePeers
    private let attention = AttentionRunner()
    private let logger: Logger

    /// A service for `spec` with a hot pool of `pageCount` pages; `threads` caps the kernels'
    /// threads (`nil`: every core); `demotionTier` is the first of `tiers`, as events report it. Throws when the model's pages cannot be laid out or the pool
    /// cannot be made.
    init(
        spec: ModelSpec,
        role: WorkerRole,
        workerID: UInt64,
        pageCount: Int,
        tiers: any LowerTiers,
        peers: any PagePeers,
        threads: Int? = nil,
        demotionTier: CacheTier = .compressedMemory,
        logger: Logger
    ) throws(StorageError) {
        instance = Mutex(
            try WorkerInstance(
                spec: spec,
                role: role,
                workerID: workerID,
                pageCount: pageCount,
                threads: threads,
                demotionTier: demotionTier
            )
        )
        self.spec = spec
        self.role = role
        self.workerID = workerID
        statusBoard = WorkerStatusBoard(
            load: CoordinatorLink.Status(liveSequences: 0, freePages: pageCount, cachedPages: 0)
        )
        self.tiers = tiers
        self.peers = peers
        self.logger = logger
    }

    // MARK: Start, requests, exit

    /// Takes the keys the lower tiers hold before serving starts (a disk tier rebuilt from its data
    /// directory) as held: the coordinator learns them by snapshot, and their later loss is announced.
    func adoptLowerTierKeys() async {
        let keys = await tiers.keys()
        instance.withLock { $0.adoptLowerTierKeys(keys) }
        publishStatus()
    }

    /// Answers one request: its reply (carrying the request's id; none for a `CacheEvent`) and the
    /// events it caused, numbered in the order the changes were made. A message the worker does not
    /// handle (a coordinator's request, or any reply type) is answered `ErrorReply` `badRequest`.
    func handle(_ request: Envelope) async -> ServiceReply {
        var outcome = ServiceReply(reply: nil, events: [])
        await perform(step { $0.handle(request) }, into: &outcome)
        publishStatus()
        return outcome
    }

    /// Shows the heartbeat's figures and the drain state, read together, on `statusBoard`.
    private func publishStatus() {
        let (load, draining) = instance.withLock { instance in
            (
                CoordinatorLink.Status(
                    liveSequences: instance.liveSequenceCount,
                    freePages: instance.freePageCount,
                    cachedPages: instance.heldKeyCount,
                    evictablePages: instance.evictablePageCount,
                    peerPagesReceived: instance.counters.peerPagesReceived,
                    peerBytesReceivedRaw: instance.counters.peerBytesReceivedRaw,
                    peerBytesReceivedEncoded: instance.counters.peerBytesReceivedEncoded
                ),
                instance.isDraining
            )
        }
        statusBoard.publish(load, draining: draining)
    }

    /// Before exit: gives every hot cached page that has no durable copy one in the disk tier, least
    /// recently used first (pages in use by open sequences last), so that a worker restarted on the
    /// same data directory serves every page this one held. Only the pages that need a copy are read
    /// out of the pool; without a disk tier nothing is written.
    func persistHotPages() async {
        let order = instance.withLock { $0.durableCopyOrder() }
        var unpublished = ServiceReply(reply: nil, events: [])
        for key in order {
            guard await tiers.needsDurableCopy(key: key) else { continue }
            await perform(step { $0.durableCopy(of: key) }, into: &unpublished)
        }
    }

    // MARK: Directives

    /// Hands every cache event from now on to `sink`, in the order of their numbers (the
    /// coordinator link queues them without waiting). Without a sink the events are only counted:
    /// a coordinator learns the held keys from a snapshot.
    func publishEvents(to sink: @escaping @Sendable ([NumberedCacheEvent]) -> Void) {
        eventSink.withLock { $0 = sink }
    }

    /// One synchronous call of the instance. The events it numbered go to the sink before the lock
    /// is let go, so requests served side by side (a `PullPages` beside the others) still send
    /// their events in number order, whichever of them finishes first.
    private func step(_ call: (inout WorkerInstance) -> [WorkerDirective]) -> [WorkerDirective] {
        instance.withLock { instance in
            let directives = call(&instance)
            let events = directives.flatMap { directive -> [NumberedCacheEvent] in
                if case .publish(let events) = directive { events } else { [] }
            }
            if !events.isEmpty, let sink = eventSink.withLock({ $0 }) { sink(events) }
            return directives
        }
    }

    /// Performs `directives` in order, and the ones the instance returns on the way after them.
    private func perform(_ directives: [WorkerDirective], into outcome: inout ServiceReply) async {
        var pending = directives
        while !pending.isEmpty {
            let directive = pending.removeFirst()
            pending += await perform(directive, into: &outcome)
        }
    }

    /// Performs one directive; returns what the instance says next when it took an answer.
    private func perform(_ directive: WorkerDirective, into outcome: inout ServiceReply) async -> [WorkerDirective] {
        switch directive {
        case .reply(let envelope):
            outcome.reply = envelope
            return []
        case let .replyWithTierStatistics(requestID, counters):
            let all = counters + (await tiers.statistics())
            outcome.reply = Envelope(requestID: requestID, message: .statsReply(StatsReply(counters: all)))
            return []
        case .publish(let events):
            // Already handed to the sink in `step`; kept here as what the request caused.
            outcome.events += events
            return []
        case let .demote(key, page):
            return lost(await tiers.demote(key: key, page: page))
        case .removeFromLowerTiers(let keys):
            for key in keys { await tiers.remove(key: key) }
            return []
        case .keepDurableCopies(let keys):
            await tiers.movedHot(keys: keys)
            return []
        case let .writeDurableCopy(key, page):
            return lost(await tiers.keepDurableCopy(key: key, page: page))
        case let .fetchFromLowerTiers(keys, pending):
            var pages: [PrefixKey: RawPage] = [:]
            for (key, page) in await tiers.prefetch(keys: keys) where pages[key] == nil { pages[key] = page }
            let answer = pages
            return step { $0.resume(pending, with: .lowerTierPages(answer)) }
        case let .askLowerTiersContain(keys, pending):
            var present: [Bool] = []
            present.reserveCapacity(keys.count)
            for key in keys { present.append(await tiers.contains(key: key)) }
            let answer = present
            return step { $0.resume(pending, with: .lowerTierPresence(answer)) }
        case let .fetchFromPeer(endpoint, keys, pending):
            let answer: Result<[EncodedPage], ServiceError>
            do throws(ServiceError) {
                answer = .success(try await peers.fetchPages(from: endpoint, keys: keys))
            } catch {
                answer = .failure(error)
            }
            return step { $0.resume(pending, with: .peerPages(answer)) }
        case let .exportFromPeer(endpoint, request, pending):
            let answer: Result<ShardExportReply, ServiceError>
            do throws(ServiceError) {
                answer = .success(try await peers.exportShard(from: endpoint, request: request))
            } catch {
                answer = .failure(error)
            }
            return step { $0.resume(pending, with: .peerShard(answer)) }
        case .runAttention(let job):
            let result = await attention.run(job.calls)
            return step { $0.attentionFinished(job, result) }
        case .lastSequenceClosed:
            outcome.closedLastSequence = true
            return []
        case let .log(level, message):
            logger.log(level: level, "\(message)")
            return []
        }
    }

    /// Reports keys the lower tiers dropped to the instance; its `removed` events come back.
    private func lost(_ keys: [PrefixKey]) -> [WorkerDirective] {
        guard !keys.isEmpty else { return [] }
        return step { $0.lowerTiersLost(keys) }
    }
}

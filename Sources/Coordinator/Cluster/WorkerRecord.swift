import CacheProtocol

/// Everything the coordinator keeps about one worker: its registration, health, load (reported
/// and its own accounting), event stream and placement figures. A record outlives the worker's
/// death so that its slot, counters and request ids stay its own when it registers again.
struct WorkerRecord: Sendable {
    /// The worker's id.
    let id: WorkerID
    /// Its dense index in the registry and the prefix index.
    let slot: Int
    /// Its ROUTER endpoint, as last registered.
    var endpoint: String
    /// Compute or store.
    var role: WorkerRole
    /// Pages of its hot pool.
    var hotPageCapacity: Int
    /// Bytes of its lower tiers.
    var storeBytes: UInt64
    /// Health.
    var state: WorkerState
    /// The routing identity of its registration link, to answer it.
    var link: RoutingIdentity
    /// When it last registered or heartbeat.
    var lastHeard: MonotonicInstant
    /// Its last heartbeat's figures, `nil` before the first heartbeat of this run.
    var reported: ReportedLoad?
    /// Pages the coordinator has placed on it since its last heartbeat (they are not yet in the
    /// heartbeat's free pages).
    var placedSinceHeartbeat = 0
    /// Pages its shards in the coordinator's sequence table take (every shard's tokens, rounded up
    /// to pages; the whole prompt of a sequence from the moment it is placed).
    var pinnedPages = 0
    /// Shards in the coordinator's sequence table.
    var shards = 0
    /// How far the index follows its events.
    var events: WorkerEventCursor
    /// Sequences placed on it.
    var placements: UInt64 = 0
    /// Prompt tokens of the sequences it opened.
    var promptTokens: UInt64 = 0
    /// Of those, tokens its prefix cache already held.
    var cachedTokens: UInt64 = 0

    /// A record for a registration.
    init(id: WorkerID, slot: Int, registration: RegisterWorker, link: RoutingIdentity, at now: MonotonicInstant, eventBufferLimit: Int) {
        self.id = id
        self.slot = slot
        endpoint = registration.endpoint
        role = registration.role
        hotPageCapacity = Int(clamping: registration.hotPageCapacity)
        storeBytes = registration.storeBytes
        state = .live
        self.link = link
        lastHeard = now
        events = WorkerEventCursor(bufferLimit: eventBufferLimit)
    }

    /// Takes a new registration (a new run): fresh health, load and event stream; counters kept.
    mutating func restart(registration: RegisterWorker, link: RoutingIdentity, at now: MonotonicInstant) {
        endpoint = registration.endpoint
        role = registration.role
        hotPageCapacity = Int(clamping: registration.hotPageCapacity)
        storeBytes = registration.storeBytes
        state = .live
        self.link = link
        lastHeard = now
        reported = nil
        placedSinceHeartbeat = 0
        pinnedPages = 0
        shards = 0
        events = WorkerEventCursor(bufferLimit: events.bufferLimit)
    }

    /// Whether a new sequence may be placed on it: live and a compute worker.
    var takesSequences: Bool { state == .live && role == .compute }

    /// Hot pages it can still give a new sequence, estimated from below by two bounds and the
    /// larger kept: the last heartbeat's free pages less what was placed since, and the hot pool
    /// less the pages of its shards (cached pages that no sequence uses can be evicted, so they
    /// count as room, which heartbeats do not say).
    var roomPages: Int {
        let byTable = hotPageCapacity - pinnedPages
        guard let reported else { return max(0, byTable) }
        return max(0, max(reported.freePages - placedSinceHeartbeat, byTable))
    }

    /// Its decode load in KV tokens: the tokens of its shards, plus `unreportedSequenceTokens` for
    /// every sequence its heartbeat counts that the coordinator's table does not (opened before a
    /// coordinator restart).
    func decodeLoadTokens(pageSize: Int, unreportedSequenceTokens: Int) -> Int {
        let unknown = max(0, (reported?.liveSequences ?? 0) - shards)
        return pinnedPages * pageSize + unknown * unreportedSequenceTokens
    }

    /// Milliseconds since it was last heard (registration or heartbeat).
    func heartbeatAgeMilliseconds(at now: MonotonicInstant) -> UInt64 {
        now.nanoseconds > lastHeard.nanoseconds ? (now.nanoseconds - lastHeard.nanoseconds) / 1_000_000 : 0
    }
}

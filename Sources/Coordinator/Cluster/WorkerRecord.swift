import CacheProtocol

/// Everything the coordinator keeps about one worker: its registration, health, load (reported
/// and its own accounting), event stream and placement figures. A record outlives the worker's
/// death so that its slot and counters stay its own when it registers again.
struct WorkerRecord: Sendable {
    /// The worker's id.
    let id: WorkerID
    /// Its dense index in the registry and the prefix index.
    let slot: Int
    /// Its ROUTER endpoint, as last registered.
    var endpoint: String
    /// Bytes of its lower tiers.
    var storeBytes: UInt64
    /// Health, role, pool and load: what placement reads.
    var load: WorkerLoad
    /// The routing identity of its registration link, to answer it.
    var link: RoutingIdentity
    /// When it last registered or heartbeat.
    var lastHeard: MonotonicInstant
    /// How far the index follows its events.
    var events: WorkerEventCursor
    /// Sequences placed on it.
    var placements: UInt64 = 0
    /// Prompt tokens of the sequences it opened.
    var promptTokens: UInt64 = 0
    /// Of those, tokens its prefix cache already held.
    var cachedTokens: UInt64 = 0

    /// A record for a registration.
    init(
        id: WorkerID,
        slot: Int,
        registration: RegisterWorker,
        link: RoutingIdentity,
        at now: MonotonicInstant,
        eventBufferLimit: Int
    ) {
        self.id = id
        self.slot = slot
        endpoint = registration.endpoint
        storeBytes = registration.storeBytes
        load = WorkerLoad(
            state: .live,
            role: registration.role,
            hotPageCapacity: Int(clamping: registration.hotPageCapacity)
        )
        self.link = link
        lastHeard = now
        events = WorkerEventCursor(bufferLimit: eventBufferLimit)
    }

    /// Takes a new registration (a new run): fresh health, load and event stream; counters kept.
    mutating func restart(registration: RegisterWorker, link: RoutingIdentity, at now: MonotonicInstant) {
        endpoint = registration.endpoint
        storeBytes = registration.storeBytes
        load = WorkerLoad(
            state: .live,
            role: registration.role,
            hotPageCapacity: Int(clamping: registration.hotPageCapacity)
        )
        self.link = link
        lastHeard = now
        events = WorkerEventCursor(bufferLimit: events.bufferLimit)
    }

    /// Health.
    var state: WorkerState {
        get { load.state }
        set { load.state = newValue }
    }

    /// Compute or store.
    var role: WorkerRole { load.role }

    /// Its last heartbeat's figures.
    var reported: ReportedLoad? {
        get { load.reported }
        set { load.reported = newValue }
    }

    /// Pages placed on it since its last heartbeat.
    var placedSinceHeartbeat: Int {
        get { load.placedSinceHeartbeat }
        set { load.placedSinceHeartbeat = newValue }
    }

    /// Pages its shards take.
    var pinnedPages: Int {
        get { load.pinnedPages }
        set { load.pinnedPages = newValue }
    }

    /// Its shards in the sequence table.
    var shards: Int {
        get { load.shards }
        set { load.shards = newValue }
    }

    /// Whether a new sequence may be placed on it.
    var takesSequences: Bool { load.takesSequences }

    /// Hot pages it can still give a new sequence (`WorkerLoad.roomPages`).
    var roomPages: Int { load.roomPages }

    /// Its decode load in KV tokens (`WorkerLoad.decodeLoadTokens`).
    func decodeLoadTokens(pageSize: Int, unreportedSequenceTokens: Int) -> Int {
        load.decodeLoadTokens(pageSize: pageSize, unreportedSequenceTokens: unreportedSequenceTokens)
    }

    /// Milliseconds since it was last heard (registration or heartbeat).
    func heartbeatAgeMilliseconds(at now: MonotonicInstant) -> UInt64 {
        now.nanoseconds > lastHeard.nanoseconds ? (now.nanoseconds - lastHeard.nanoseconds) / 1_000_000 : 0
    }
}

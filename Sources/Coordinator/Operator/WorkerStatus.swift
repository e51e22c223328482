/// One worker's line of `mfa-coordinator status`, read from the coordinator's `worker.<id>.*`
/// counters.
public struct WorkerStatus: Sendable, Hashable, Codable {
    /// The worker's id.
    public var id: UInt64
    /// `live`, `draining`, `dead`, `left` (or the raw code when unknown).
    public var state: String
    /// Pages the prefix index holds of it per tier: hot, compressed, disk, remote.
    public var pagesHot: UInt64
    /// Pages in compressed RAM.
    public var pagesCompressed: UInt64
    /// Pages on disk.
    public var pagesDisk: UInt64
    /// Pages in its remote tier.
    public var pagesRemote: UInt64
    /// Shards of open sequences the coordinator routes to it.
    public var sequences: UInt64
    /// Open sequences its last heartbeat reported.
    public var liveSequences: UInt64
    /// Free hot pages its last heartbeat reported.
    public var freePages: UInt64
    /// Hot pages holding cached pages no sequence uses, as its last heartbeat reported.
    public var evictablePages: UInt64
    /// Its decode load in KV tokens.
    public var loadTokens: UInt64
    /// Cached prompt tokens per prompt token of the sequences opened on it.
    public var hitRate: Double
    /// Sequences placed on it.
    public var placements: UInt64
    /// Milliseconds since its last heartbeat or registration.
    public var heartbeatAgeMilliseconds: UInt64
    /// KV pages it received from other workers (pulls, adopted shards).
    public var receivedPages: UInt64
    /// Their bytes as they travelled (the page encoding).
    public var receivedBytesEncoded: UInt64

    /// The names of the worker state codes (`worker.<id>.state`).
    static let stateNames = ["live", "draining", "dead", "left"]

    /// The status of worker `id` from `counters`; nil when they have no `worker.<id>.state`.
    init?(id: UInt64, counters: [String: UInt64]) {
        let prefix = "worker.\(id)."
        guard let code = counters[prefix + "state"] else { return nil }
        func value(_ name: String) -> UInt64 { counters[prefix + name] ?? 0 }
        self.id = id
        state = code < Self.stateNames.count ? Self.stateNames[Int(code)] : "state \(code)"
        pagesHot = value("pages.hot")
        pagesCompressed = value("pages.compressed")
        pagesDisk = value("pages.disk")
        pagesRemote = value("pages.remote")
        sequences = value("sequences")
        liveSequences = value("live_sequences")
        freePages = value("free_pages")
        evictablePages = value("evictable_pages")
        loadTokens = value("load_tokens")
        hitRate = Double(value("hit_rate_permille")) / 1000
        placements = value("placements")
        heartbeatAgeMilliseconds = value("heartbeat_age_ms")
        receivedPages = value("received.pages")
        receivedBytesEncoded = value("received.bytes_encoded")
    }
}

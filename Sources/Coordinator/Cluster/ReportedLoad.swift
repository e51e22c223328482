import CacheProtocol

/// What a worker's last heartbeat said about itself.
struct ReportedLoad: Sendable, Hashable {
    /// Open sequences (shards) on the worker.
    var liveSequences: Int
    /// Hot pages neither used by a sequence nor holding a cached prefix page.
    var freePages: Int
    /// Hot pages holding cached prefix pages no sequence uses (0 from a plain `Heartbeat`, which
    /// does not say).
    var evictablePages: Int
    /// Pages in its prefix cache, every tier.
    var cachedPages: Int
    /// Number of the last `CacheEvent` it sent.
    var lastEventSequence: UInt64
    /// Pages it received from other workers since it started, their bytes decoded and as they
    /// travelled (0 from a plain `Heartbeat`).
    var peerTransfers: PeerTransfers

    /// The figures of `heartbeat`, clamped to `Int`.
    init(_ heartbeat: Heartbeat) {
        liveSequences = Int(heartbeat.liveSequences)
        freePages = Int(clamping: heartbeat.freePages)
        evictablePages = 0
        cachedPages = Int(clamping: heartbeat.cachedPages)
        lastEventSequence = heartbeat.lastEventSequence
        peerTransfers = PeerTransfers()
    }

    /// The figures of `report`, clamped to `Int`.
    init(_ report: HeartbeatReport) {
        self.init(report.heartbeat)
        evictablePages = Int(clamping: report.evictablePages)
        peerTransfers = PeerTransfers(
            pages: report.peerPagesReceived,
            rawBytes: report.peerBytesReceivedRaw,
            encodedBytes: report.peerBytesReceivedEncoded
        )
    }
}

import CacheProtocol

/// What a worker's last heartbeat said about itself.
struct ReportedLoad: Sendable, Hashable {
    /// Open sequences (shards) on the worker.
    var liveSequences: Int
    /// Hot pages neither used by a sequence nor holding a cached prefix page.
    var freePages: Int
    /// Pages in its prefix cache, every tier.
    var cachedPages: Int
    /// Number of the last `CacheEvent` it sent.
    var lastEventSequence: UInt64

    /// The figures of `heartbeat`, clamped to `Int`.
    init(_ heartbeat: Heartbeat) {
        liveSequences = Int(heartbeat.liveSequences)
        freePages = Int(clamping: heartbeat.freePages)
        cachedPages = Int(clamping: heartbeat.cachedPages)
        lastEventSequence = heartbeat.lastEventSequence
    }
}

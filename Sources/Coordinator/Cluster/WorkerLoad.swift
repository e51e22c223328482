import CacheProtocol

/// What placement reads about one worker, kept apart from the rest of its record in a plain value
/// (no reference inside), so that scanning every worker for each placement copies nothing and
/// retains nothing.
struct WorkerLoad: Sendable, Hashable {
    /// Health.
    var state: WorkerState
    /// Compute or store.
    var role: WorkerRole
    /// Pages of its hot pool.
    var hotPageCapacity: Int
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

    /// A fresh run's figures.
    init(state: WorkerState, role: WorkerRole, hotPageCapacity: Int) {
        self.state = state
        self.role = role
        self.hotPageCapacity = hotPageCapacity
    }

    /// Whether a new sequence may be placed on it: live and a compute worker.
    var takesSequences: Bool { state == .live && role == .compute }

    /// Hot pages it can still give a new sequence, estimated from below by two bounds and the
    /// larger kept: the last heartbeat's free and evictable pages (cached pages no sequence uses,
    /// which the pool takes back) less what was placed since, and the hot pool less the pages of
    /// its shards (which also counts evictable pages as room, for a plain `Heartbeat` that does
    /// not report them).
    var roomPages: Int {
        let byTable = hotPageCapacity - pinnedPages
        guard let reported else { return max(0, byTable) }
        return max(0, max(reported.freePages + reported.evictablePages - placedSinceHeartbeat, byTable))
    }

    /// Its decode load in KV tokens: the tokens of its shards, plus `unreportedSequenceTokens` for
    /// every sequence its heartbeat counts that the coordinator's table does not (opened before a
    /// coordinator restart).
    func decodeLoadTokens(pageSize: Int, unreportedSequenceTokens: Int) -> Int {
        Self.decodeLoadTokens(
            pinnedPages: pinnedPages,
            unreportedSequences: unreportedSequences,
            pageSize: pageSize,
            unreportedSequenceTokens: unreportedSequenceTokens
        )
    }

    /// Sequences its heartbeat counts beyond its shards in the coordinator's table.
    var unreportedSequences: Int { max(0, (reported?.liveSequences ?? 0) - shards) }

    /// The decode load in KV tokens of a worker whose shards take `pinnedPages` pages and whose
    /// heartbeat counts `unreportedSequences` sequences the table does not.
    @inline(__always)
    static func decodeLoadTokens(
        pinnedPages: Int,
        unreportedSequences: Int,
        pageSize: Int,
        unreportedSequenceTokens: Int
    ) -> Int {
        pinnedPages * pageSize + unreportedSequences * unreportedSequenceTokens
    }
}

import CacheProtocol

/// StatsRequest to the coordinator: cluster totals, then per-worker figures.
extension CoordinatorInstance {
    /// Per-worker counters, each named `worker.<id>.<name>`.
    static let workerCounterNames = [
        "state", "pages.hot", "pages.compressed", "pages.disk", "pages.remote", "sequences", "live_sequences",
        "free_pages", "evictable_pages", "load_tokens", "hit_rate_permille", "placements", "heartbeat_age_ms",
        "received.pages", "received.bytes", "received.bytes_encoded",
    ]

    /// The counters: `cluster.*` totals first, then `worker.<id>.*` for each worker in slot order,
    /// as many workers as fit the protocol's 4096 counters (`cluster.workers.omitted` says how many
    /// did not). Worker state: 0 live, 1 draining, 2 dead, 3 left; hit rate: cached prompt tokens
    /// per thousand prompt tokens of the sequences opened there; heartbeat age: milliseconds since
    /// the last heartbeat or registration; `received.*`: KV pages the worker received from other
    /// workers since it started (its bytes decoded and as they travelled), whose sums over the
    /// workers known are `cluster.moved.*`.
    func statsReply(at now: MonotonicInstant) -> StatsReply {
        var counters: [StatsReply.Counter] = []
        func add(_ name: String, _ value: UInt64) { counters.append(StatsReply.Counter(name: name, value: value)) }
        func add(_ name: String, _ value: Int) { add(name, UInt64(max(0, value))) }
        func permille(_ part: UInt64, _ whole: UInt64) -> UInt64 { whole == 0 ? 0 : part * 1000 / whole }
        let records = registry.records
        let perWorker = Self.workerCounterNames.count
        add("cluster.heartbeat_ms", Int(configuration.heartbeatMillisecondsOnTheWire))
        add("cluster.workers", records.count)
        add("cluster.workers.live", records.filter { $0.state == .live }.count)
        add("cluster.workers.draining", records.filter { $0.state == .draining }.count)
        add("cluster.workers.dead", records.filter { if case .dead = $0.state { true } else { false } }.count)
        add("cluster.workers.left", records.filter { $0.state == .left }.count)
        add("cluster.sequences", sequences.count)
        add("cluster.sequences.failed", self.counters.sequencesFailed)
        add("cluster.sequences.recovered", self.counters.sequencesRecovered)
        add("cluster.shards.stale_closed", self.counters.staleShardsClosed)
        add("cluster.recovery.open", recovery.isOpen ? 1 : 0)
        add("cluster.requests.held", self.counters.requestsHeld)
        add("cluster.index.keys", index.keyCount)
        add("cluster.index.pages", index.pageCount)
        add("cluster.placements", self.counters.placements)
        add("cluster.placements.refused", self.counters.placementsRefused)
        add("cluster.spills", self.counters.spills)
        add("cluster.spills.refused", self.counters.spillsRefused)
        add("cluster.pulls", self.counters.pulls)
        add("cluster.prompt_tokens", self.counters.promptTokens)
        add("cluster.cached_tokens", self.counters.cachedTokens)
        add("cluster.hit_rate_permille", permille(self.counters.cachedTokens, self.counters.promptTokens))
        add("cluster.events.applied", self.counters.eventsApplied)
        add("cluster.events.stale", self.counters.eventsStale)
        add("cluster.events.gaps", self.counters.eventGaps)
        add("cluster.snapshots.requested", self.counters.snapshotsRequested)
        add("cluster.snapshots.applied", self.counters.snapshotsApplied)
        add("cluster.resyncs", self.counters.resyncs)
        add("cluster.replication.pulls", self.counters.replicationPulls)
        add("cluster.replication.pages", self.counters.replicationPages)
        add("cluster.replication.failed", self.counters.replicationFailed)
        add("cluster.replication.dropped", self.counters.replicationDropped)
        add("cluster.replication.backlog", replication.backlogCount)
        add("cluster.replication.in_flight", replication.keysInFlight)
        add("cluster.requests.client", self.counters.clientRequests)
        add("cluster.requests.client_errors", self.counters.clientErrors)
        add("cluster.requests.pending", pending.requests.count)
        add("cluster.operations.pending", pending.operations.count)
        add("cluster.requests.timed_out", self.counters.requestsTimedOut)
        add("cluster.replies.late", self.counters.lateReplies)
        add("cluster.workers.deaths", self.counters.workerDeaths)
        add("cluster.drains", drains.count)
        add("cluster.drains.started", self.counters.drainsStarted)
        add("cluster.drains.completed", self.counters.drainsCompleted)
        add("cluster.drain.moved", self.counters.drainMoved)
        add("cluster.drain.stayed", self.counters.drainStayed)
        add("cluster.drain.pages", self.counters.drainPages)
        add("cluster.drain.bytes", self.counters.drainBytes)
        add("cluster.drain.pulled", self.counters.drainPulled)
        add("cluster.drain.held", self.counters.drainHeld)
        add("cluster.drain.held_expired", self.counters.drainHeldExpired)
        let moved = records.reduce(PeerTransfers()) { $0 + ($1.reported?.peerTransfers ?? PeerTransfers()) }
        add("cluster.moved.pages", moved.pages)
        add("cluster.moved.bytes", moved.rawBytes)
        add("cluster.moved.bytes_encoded", moved.encodedBytes)
        // The last cluster counter, then as many workers as the protocol's counter limit allows.
        let shown = min(records.count, max(0, (WireLimits.maxCounters - counters.count - 1) / perWorker))
        add("cluster.workers.omitted", records.count - shown)
        let pageSize = configuration.spec.pageSize
        let unreported = configuration.weights.unreportedSequenceTokens
        for record in records.prefix(shown) {
            let prefix = "worker.\(record.id)."
            add(prefix + "state", record.state.code)
            for tier in CacheTier.allCases { add(prefix + "pages.\(tier)", index.pages(of: record.slot, in: tier)) }
            add(prefix + "sequences", record.shards)
            add(prefix + "live_sequences", record.reported?.liveSequences ?? 0)
            add(prefix + "free_pages", record.reported?.freePages ?? 0)
            add(prefix + "evictable_pages", record.reported?.evictablePages ?? 0)
            add(
                prefix + "load_tokens",
                record.decodeLoadTokens(pageSize: pageSize, unreportedSequenceTokens: unreported)
            )
            add(prefix + "hit_rate_permille", permille(record.cachedTokens, record.promptTokens))
            add(prefix + "placements", record.placements)
            add(prefix + "heartbeat_age_ms", record.heartbeatAgeMilliseconds(at: now))
            let received = record.reported?.peerTransfers ?? PeerTransfers()
            add(prefix + "received.pages", received.pages)
            add(prefix + "received.bytes", received.rawBytes)
            add(prefix + "received.bytes_encoded", received.encodedBytes)
        }
        return StatsReply(counters: counters)
    }
}

import CacheProtocol

/// Where pages evicted from the hot pool go, and where a prefix lookup continues after a hot miss.
///
/// Pages travel as `RawPage` (canonical page bytes with their `PageLayout`); keys are the chained
/// `PrefixKey`s of full prompt pages.
protocol LowerTiers: Sendable {
    /// Takes a page evicted from the hot pool (raw canonical page bytes). Never throws: a tier that
    /// cannot keep it drops it (and the page's key leaves the worker). Returns the keys that left
    /// the worker as a result (this one, or older pages pushed out of the last tier), for which the
    /// service records `removed` events (`SequenceManager.lowerTiersLost(keys:)`).
    func demote(key: PrefixKey, page: RawPage) async -> [PrefixKey]
    /// The page's raw bytes if any lower tier holds it (checksum verified), removing it from that
    /// tier when it is brought back hot; nil on a miss (corrupt data counts as a miss and is logged).
    func promote(key: PrefixKey) async -> RawPage?
    /// Promotes every key of `keys` some lower tier holds, fetching concurrently where a tier allows:
    /// the pages to admit into the hot pool ahead of a sequence that will need them, in key order.
    func prefetch(keys: [PrefixKey]) async -> [(key: PrefixKey, page: RawPage)]
    /// Whether any lower tier holds the key (no data movement).
    func contains(key: PrefixKey) async -> Bool
    /// Removes the key from every lower tier.
    func remove(key: PrefixKey) async
    /// Every key the lower tiers hold (for snapshots).
    func keys() async -> [PrefixKey]
    /// Before exit: moves what is only in RAM to a durable tier where there is one, so that it
    /// survives the restart.
    func flush() async
    /// Counters of every lower tier (pages, bytes, moves, hits, misses) for `StatsReply`.
    func statistics() async -> [StatsReply.Counter]
}

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
    /// The page's raw bytes if any lower tier holds it (checksum verified), taking it out of that
    /// tier as it is brought back hot (a durable tier keeps a durable copy); nil on a miss (corrupt
    /// data counts as a miss and is logged).
    func promote(key: PrefixKey) async -> RawPage?
    /// Promotes every key of `keys` some lower tier holds, fetching concurrently where a tier allows:
    /// the pages to admit into the hot pool ahead of a sequence that will need them, in key order.
    func prefetch(keys: [PrefixKey]) async -> [(key: PrefixKey, page: RawPage)]
    /// Whether the key's page lives in a lower tier (no data movement); a durable copy of a page that
    /// lives hot does not count.
    func contains(key: PrefixKey) async -> Bool
    /// Removes the key from every lower tier, durable copies included.
    func remove(key: PrefixKey) async
    /// The pages of `keys` were admitted hot from elsewhere (a put, a peer). A key is the address of
    /// its content, so a page a tier holds under it is the same page: each tier lets go of its page,
    /// except that a file on disk stays as the hot page's durable copy (as after a promotion).
    func movedHot(keys: [PrefixKey]) async
    /// Every key whose page lives in a lower tier (for snapshots).
    func keys() async -> [PrefixKey]
    /// Before exit: moves the pages that live in compressed RAM to a durable tier where there is one,
    /// so that they survive the restart (hot pages get theirs through `keepDurableCopy`).
    func flush() async
    /// Whether `keepDurableCopy` would write the page of `key`: there is a durable tier and the key
    /// has no file in it.
    func needsDurableCopy(key: PrefixKey) async -> Bool
    /// Gives the hot page `page` of `key` a durable copy (the disk tier), unless there is no durable
    /// tier or the key has one already; the page stays hot and held. Returns the keys that left the
    /// worker to make room (for `removed` events).
    func keepDurableCopy(key: PrefixKey, page: RawPage) async -> [PrefixKey]
    /// Counters of every lower tier (pages, bytes, moves, hits, misses) for `StatsReply`.
    func statistics() async -> [StatsReply.Counter]
}

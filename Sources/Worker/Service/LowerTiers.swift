import CacheProtocol

/// Where pages evicted from the hot pool go, and where a prefix lookup continues after a hot miss.
///
/// Pages travel as `RawPage` (canonical page bytes with their `PageLayout`); keys are the chained
/// `PrefixKey`s of full prompt pages.
protocol LowerTiers: Sendable {
    /// Takes a page evicted from the hot pool (raw canonical page bytes). Never throws: a tier that
    /// cannot keep it drops it (and the page's key leaves the worker).
    func demote(key: PrefixKey, page: RawPage) async
    /// The page's raw bytes if any lower tier holds it (checksum verified), removing it from that
    /// tier when it is brought back hot; nil on a miss (corrupt data counts as a miss and is logged).
    func promote(key: PrefixKey) async -> RawPage?
    /// Whether any lower tier holds the key (no data movement).
    func contains(key: PrefixKey) async -> Bool
    /// Removes the key from every lower tier.
    func remove(key: PrefixKey) async
    /// Every key the lower tiers hold (for snapshots).
    func keys() async -> [PrefixKey]
    /// Flushes what must survive a restart (disk index) before exit.
    func flush() async
}

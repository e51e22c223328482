import CacheProtocol

/// Nothing below the hot pool: demoted pages are dropped and every lookup misses.
struct NoLowerTiers: LowerTiers {
    /// Drops the page.
    func demote(key: PrefixKey, page: RawPage) async {}
    /// Always a miss.
    func promote(key: PrefixKey) async -> RawPage? { nil }
    /// Always false.
    func contains(key: PrefixKey) async -> Bool { false }
    /// Nothing to remove.
    func remove(key: PrefixKey) async {}
    /// No keys.
    func keys() async -> [PrefixKey] { [] }
    /// Nothing to flush.
    func flush() async {}
}

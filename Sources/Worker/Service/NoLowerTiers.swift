import CacheProtocol

/// Nothing below the hot pool: demoted pages are dropped and every lookup misses.
struct NoLowerTiers: LowerTiers {
    /// Drops the page: its key leaves the worker.
    func demote(key: PrefixKey, page: RawPage) async -> [PrefixKey] { [key] }
    /// Always a miss.
    func promote(key: PrefixKey) async -> RawPage? { nil }
    /// Nothing found.
    func prefetch(keys: [PrefixKey]) async -> [(key: PrefixKey, page: RawPage)] { [] }
    /// Always false.
    func contains(key: PrefixKey) async -> Bool { false }
    /// Nothing to remove.
    func remove(key: PrefixKey) async {}
    /// Nothing held below.
    func movedHot(keys: [PrefixKey]) async {}
    /// No keys.
    func keys() async -> [PrefixKey] { [] }
    /// Nothing to flush.
    func flush() async {}
    /// No durable tier: never.
    func needsDurableCopy(key: PrefixKey) async -> Bool { false }
    /// No durable tier: nothing to write.
    func keepDurableCopy(key: PrefixKey, page: RawPage) async -> [PrefixKey] { [] }
    /// No counters.
    func statistics() async -> [StatsReply.Counter] { [] }
}

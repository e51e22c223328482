/// What `PrefixKeyCache` did since it was made.
struct PrefixKeyCacheStatistics: Sendable, Hashable {
    /// Keys asked for and found (no SHA-256 computed).
    var hits = 0
    /// Keys asked for and not found (computed with SHA-256).
    var misses = 0
    /// Keys computed with SHA-256 by the prompts using the cache (a miss whose key turned out not
    /// to be needed is not computed).
    var computed = 0
    /// Keys stored.
    var insertions = 0
    /// Keys dropped to make room.
    var evictions = 0

    /// Hits over keys asked for; 0 when none were.
    var hitRate: Double {
        hits + misses == 0 ? 0 : Double(hits) / Double(hits + misses)
    }

    /// The counts of `self` since `earlier` (a reading of the same cache).
    func since(_ earlier: PrefixKeyCacheStatistics) -> PrefixKeyCacheStatistics {
        PrefixKeyCacheStatistics(
            hits: hits - earlier.hits,
            misses: misses - earlier.misses,
            computed: computed - earlier.computed,
            insertions: insertions - earlier.insertions,
            evictions: evictions - earlier.evictions
        )
    }
}

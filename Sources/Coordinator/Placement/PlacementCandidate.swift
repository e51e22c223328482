/// One worker as placement sees it for one prompt.
struct PlacementCandidate: Sendable, Hashable {
    /// Its registry slot.
    var slot: Int
    /// Its id.
    var worker: WorkerID
    /// Leading pages of the prompt it holds.
    var cachedPages: Int
    /// Of those, hot pages (they need no new page).
    var hotCachedPages: Int
    /// Tier-weighted credit of its cached pages.
    var credit: Double
    /// Its decode load in KV tokens.
    var loadTokens: Int
    /// Hot pages it can give the sequence.
    var roomPages: Int
}

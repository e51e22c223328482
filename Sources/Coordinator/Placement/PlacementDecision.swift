/// Where a new sequence goes, and what to fetch first.
struct PlacementDecision: Sendable, Hashable {
    /// Pages to pull from a peer before opening.
    struct Pull: Sendable, Hashable {
        /// The holder.
        var source: PullSource
        /// Page positions (indices into the prompt's keys) to pull.
        var pages: Range<Int>
    }

    /// The chosen worker's slot.
    var slot: Int
    /// The chosen worker.
    var worker: WorkerID
    /// Leading pages it holds already.
    var cachedPages: Int
    /// Hot pages the sequence takes on it beyond those it maps already.
    var neededPages: Int
    /// The pull to ask for first, if any.
    var pull: Pull?
    /// The cost that decided (0 for the cache-blind policies).
    var cost: Double
}

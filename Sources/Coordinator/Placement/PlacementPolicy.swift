/// How the coordinator chooses the worker for a new sequence.
public enum PlacementPolicy: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Least cost: tokens left to prefill (cached pages credited by tier, pages pullable from a
    /// peer credited less) times the prefill weight, plus the worker's decode load times the
    /// decode weight. May ask the chosen worker to pull the prefix from its holder first.
    case prefix
    /// Each worker with room in turn, in slot order; cache-blind. A baseline.
    case roundRobin = "round-robin"
    /// The worker with room and the least decode load; cache-blind. A baseline.
    case leastLoaded = "least-loaded"

    /// The name on the command line.
    public var description: String { rawValue }
}

/// Counters of one lower tier, reported in `StatsReply` as `tier_<name>_<counter>`.
public struct TierStatistics: Sendable, Hashable {
    /// Pages held now.
    public var pages: Int = 0
    /// Bytes held now (encoded pages).
    public var bytes: Int = 0
    /// Pages that entered this tier (demoted from above, or put).
    public var movedIn: Int = 0
    /// Pages this tier passed down to the next tier (or dropped when there is none) to make room.
    public var movedDown: Int = 0
    /// Promotions this tier served.
    public var hits: Int = 0
    /// Promotions this tier was asked for and could not serve (absent or corrupt).
    public var misses: Int = 0

    /// All counters zero.
    public init() {}

    /// Counts a page of `bytes` encoded bytes entering the tier.
    mutating func recordIn(bytes count: Int) {
        pages += 1
        bytes += count
        movedIn += 1
    }

    /// Counts a page of `bytes` encoded bytes leaving the tier.
    mutating func recordOut(bytes count: Int) {
        pages -= 1
        bytes -= count
    }

    /// The counters as `(name, value)` pairs named `tier_<tier>_<counter>`.
    public func counters(tier: String) -> [(name: String, value: UInt64)] {
        [
            ("pages", pages), ("bytes", bytes), ("moved_in", movedIn), ("moved_down", movedDown), ("hits", hits),
            ("misses", misses),
        ].map { ("tier_\(tier)_\($0.0)", UInt64(max(0, $0.1))) }
    }
}

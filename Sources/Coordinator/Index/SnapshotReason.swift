/// Why the coordinator asked a worker for a snapshot of its prefix cache.
public enum SnapshotReason: Sendable, Hashable, CustomStringConvertible {
    /// The worker registered (first time, new run, or after the coordinator forgot it): whatever
    /// its tiers kept across a restart is learnt this way.
    case registered
    /// A `CacheEvent` skipped numbers: `expected` was next, `received` came.
    case eventGap(expected: UInt64, received: UInt64)
    /// A heartbeat named a last event other than the last one applied (ahead: events were lost;
    /// behind: the worker's stream restarted).
    case heartbeatMismatch(reported: UInt64, applied: UInt64)
    /// A snapshot was applied but the events buffered meanwhile do not continue it.
    case bufferedEventsBroken
    /// The previous snapshot request failed or timed out.
    case retry

    /// Whether the index asked because it could not be sure it was exact (a gap, a heartbeat's
    /// other last event, buffered events that do not continue a snapshot), not for a registration
    /// or a retry.
    public var isResync: Bool {
        switch self {
        case .eventGap, .heartbeatMismatch, .bufferedEventsBroken: true
        case .registered, .retry: false
        }
    }

    /// A readable account.
    public var description: String {
        switch self {
        case .registered: "the worker registered"
        case let .eventGap(expected, received): "event \(received) came when \(expected) was next"
        case let .heartbeatMismatch(reported, applied):
            "heartbeat names event \(reported), \(applied) was the last applied"
        case .bufferedEventsBroken: "the events buffered during the snapshot do not continue it"
        case .retry: "the previous snapshot request failed"
        }
    }
}

/// Where a registered worker stands in the coordinator's eyes.
public enum WorkerState: Sendable, Hashable, CustomStringConvertible {
    /// Registered and heartbeating: sequences are placed on it and requests routed to it.
    case live
    /// Told to drain: requests for its sequences are still routed, no new sequence is placed on it.
    case draining
    /// Missed its heartbeats (since this instant): nothing is routed to it until it registers again.
    case dead(since: MonotonicInstant)
    /// Deregistered: nothing is routed to it until it registers again.
    case left

    /// Whether requests for its sequences may go to it.
    public var isRoutable: Bool {
        switch self {
        case .live, .draining: true
        case .dead, .left: false
        }
    }

    /// The `worker.<id>.state` counter value: 0 live, 1 draining, 2 dead, 3 left.
    public var code: UInt64 {
        switch self {
        case .live: 0
        case .draining: 1
        case .dead: 2
        case .left: 3
        }
    }

    /// `live`, `draining`, `dead`, `left`.
    public var description: String {
        switch self {
        case .live: "live"
        case .draining: "draining"
        case .dead: "dead"
        case .left: "left"
        }
    }
}

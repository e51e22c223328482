/// One event of a worker's numbered cache-event stream (1, 2, 3, … per run, no number skipped):
/// keys that entered or left the worker (`CacheEvent`), or held keys that moved between tiers
/// (`CacheTierEvent`). The worker sends each as its message in number order; the coordinator
/// applies them in that order, whichever type each is.
public enum NumberedCacheEvent: Sendable, Hashable {
    /// Keys entered or left the worker (any tier): a `CacheEvent`.
    case held(CacheEvent)
    /// Keys the worker holds moved to another tier: a `CacheTierEvent`.
    case tier(CacheTierEvent)

    /// Its number in the stream.
    public var eventSequence: UInt64 {
        switch self {
        case .held(let event): event.eventSequence
        case .tier(let event): event.eventSequence
        }
    }

    /// Its keys.
    public var keys: [PrefixKey] {
        switch self {
        case .held(let event): event.keys
        case .tier(let event): event.keys
        }
    }

    /// The event a message carries; `nil` for any other message.
    public init?(_ message: Message) {
        switch message {
        case .cacheEvent(let event): self = .held(event)
        case .cacheTierEvent(let event): self = .tier(event)
        default: return nil
        }
    }

    /// The sending worker.
    public var workerID: UInt64 {
        switch self {
        case .held(let event): event.workerID
        case .tier(let event): event.workerID
        }
    }

    /// The `CacheEvent`, for a keys-entered-or-left event.
    public var cacheEvent: CacheEvent? {
        if case .held(let event) = self { event } else { nil }
    }

    /// The message that carries it to a coordinator that takes tier events (`tiers`), or to one of
    /// minor version 0, which gets a tier move as a `CacheEvent` `stored` of the same number (the
    /// keys are in the worker's cache, any tier), so its numbering has no gap.
    public func message(tiers: Bool) -> Message {
        switch self {
        case .held(let event):
            .cacheEvent(event)
        case .tier(let event) where tiers:
            .cacheTierEvent(event)
        case .tier(let event):
            .cacheEvent(
                CacheEvent(
                    workerID: event.workerID,
                    eventSequence: event.eventSequence,
                    kind: .stored,
                    keys: event.keys
                )
            )
        }
    }
}

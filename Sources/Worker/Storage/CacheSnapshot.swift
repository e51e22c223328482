import CacheProtocol

/// Every page key a prefix cache holds, as of the event with number `sequenceNumber`: applying the
/// events numbered after it to this set gives the current set.
public struct CacheSnapshot: Sendable, Hashable {
    /// Number of the last event already reflected in `keys` (0 before any event).
    public let sequenceNumber: UInt64
    /// The keys held.
    public let keys: Set<PrefixKey>

    /// A snapshot.
    public init(sequenceNumber: UInt64, keys: Set<PrefixKey>) {
        self.sequenceNumber = sequenceNumber
        self.keys = keys
    }
}

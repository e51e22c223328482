import CacheProtocol

/// A change of the set of page keys held in a worker's hot prefix cache, numbered so that a reader
/// can detect a gap: the worker's events carry 1, 2, 3, … with no number skipped or repeated.
public struct PrefixCacheChange: Sendable, Hashable, CustomStringConvertible {
    /// What happened to the key.
    public enum Kind: String, Sendable, Hashable {
        /// The key entered the cache.
        case stored
        /// The key left the cache.
        case removed
        /// The key's page left the hot pool for a lower tier; the key is still held.
        case demoted
        /// The key, held in a lower tier, is hot again.
        case promoted
    }

    /// Position of this event in the worker's event stream, starting at 1.
    public let sequenceNumber: UInt64
    /// What happened.
    public let kind: Kind
    /// The page key concerned.
    public let key: PrefixKey

    /// An event.
    public init(sequenceNumber: UInt64, kind: Kind, key: PrefixKey) {
        self.sequenceNumber = sequenceNumber
        self.kind = kind
        self.key = key
    }

    /// `#N stored|removed|demoted|promoted KEY`.
    public var description: String { "#\(sequenceNumber) \(kind.rawValue) \(key)" }
}

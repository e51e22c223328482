/// The id of a live sequence on one worker, unique for the worker's lifetime.
public struct SequenceID: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The numeric id.
    public let rawValue: UInt64

    /// Wraps a numeric id.
    public init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    /// Orders ids by their numeric value (the order they were handed out in).
    public static func < (lhs: SequenceID, rhs: SequenceID) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The numeric id in decimal.
    public var description: String { String(rawValue) }
}

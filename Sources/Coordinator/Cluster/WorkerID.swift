/// A worker's id as it registered it (`RegisterWorker.workerID`): unique in the cluster and stable
/// across the worker's restarts.
public struct WorkerID: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The id on the wire.
    public var rawValue: UInt64

    /// The worker with id `rawValue`.
    public init(_ rawValue: UInt64) {
        self.rawValue = rawValue
    }

    /// Orders by the numeric id.
    public static func < (lhs: WorkerID, rhs: WorkerID) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The decimal id.
    public var description: String { String(rawValue) }
}

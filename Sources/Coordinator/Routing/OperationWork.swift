import CacheProtocol

/// The state of a client operation, by kind.
enum OperationWork: Sendable {
    /// Opening a sequence: placement, a pull perhaps, then the worker's open.
    case open(OpenProgress)
    /// A prefill chunk forwarded to the tail.
    case prefill(PrefillProgress)
    /// A decode batch split over workers.
    case decode(DecodeProgress)
    /// A truncation sent to the shards it cuts.
    case truncate(FanOutProgress)
    /// A close sent to every shard.
    case close(FanOutProgress)

    /// The sequences whose state the operation may change.
    var sequenceIDs: [UInt64] {
        switch self {
        case .open(let progress): [progress.sequenceID]
        case .prefill(let progress): [progress.sequenceID]
        case .decode(let progress): progress.sequenceIDs
        case .truncate(let progress): [progress.sequenceID]
        case .close: []
        }
    }
}

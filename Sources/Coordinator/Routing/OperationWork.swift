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
    /// A drain forwarded to its worker.
    case drain(WorkerID)

    /// The sequences whose state the operation may change.
    var sequenceIDs: [UInt64] {
        switch self {
        case .open(let progress): [progress.sequenceID]
        case .prefill(let progress): [progress.sequenceID]
        case .decode(let progress): progress.sequenceIDs
        case .truncate(let progress): [progress.sequenceID]
        case .close, .drain: []
        }
    }
}

/// A prefill in flight.
struct PrefillProgress: Sendable {
    /// The sequence.
    var sequenceID: UInt64
    /// The layer.
    var layer: UInt32
    /// Its start position.
    var start: Int
    /// Its new tokens.
    var tokens: Int
}

/// A decode batch in flight.
struct DecodeProgress: Sendable {
    /// One part's worker, role and sequences.
    struct Part: Sendable {
        /// The worker.
        var worker: WorkerID
        /// Whether it appends k and v.
        var appends: Bool
        /// Its sequences.
        var sequenceIDs: [UInt64]
    }

    /// How to put the answers together.
    var plan: DecodeMergePlan
    /// The parts.
    var parts: [Part]
    /// Each part's outcome, `nil` while awaited.
    var outcomes: [PartOutcome?]
    /// The client's entries: sequence and query tokens, in its order.
    var entries: [Decode.Entry]

    /// Every sequence of the batch, in the client's order.
    var sequenceIDs: [UInt64] { entries.map(\.sequenceID) }
}

/// A request sent to several shards of one sequence (truncate, close).
struct FanOutProgress: Sendable {
    /// One shard's request.
    struct Part: Sendable {
        /// The worker.
        var worker: WorkerID
        /// Whether the request closes the shard (a truncation that drops it whole) rather than
        /// cutting it.
        var closesShard: Bool
    }

    /// The sequence.
    var sequenceID: UInt64
    /// The new length (truncate).
    var length: Int
    /// The parts.
    var parts: [Part]
    /// Each part's outcome, `nil` while awaited.
    var outcomes: [PartOutcome?]
}

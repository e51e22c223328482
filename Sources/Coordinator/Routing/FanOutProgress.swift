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

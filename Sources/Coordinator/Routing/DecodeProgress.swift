import CacheProtocol

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
    /// The client's batch, kept so that a part refused `capacity` can be re-sent after a spill.
    var batch: Decode
    /// The spill under way or done, `nil` when the batch has not spilled (a batch spills once).
    var spill: DecodeSpill?
    /// The sequence whose `Prefill` this batch carries (a prefill on a sequence of several
    /// shards, sent as a one-entry decode), answered with a `PrefillReply`; `nil` for a decode.
    var prefillOf: UInt64?

    /// Every sequence of the batch, in the client's order.
    var sequenceIDs: [UInt64] { entries.map(\.sequenceID) }
}

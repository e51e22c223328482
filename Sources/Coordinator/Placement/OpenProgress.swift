import CacheProtocol

/// An open in flight: the prompt, the worker it was placed on and the stage reached.
struct OpenProgress: Sendable {
    /// Where the open stands.
    enum Stage: Sendable, Hashable {
        /// Not placed yet.
        case placing
        /// The chosen worker pulls the prefix from its holder.
        case pulling
        /// The chosen worker opens the sequence.
        case opening
    }

    /// The id given to the sequence.
    var sequenceID: UInt64
    /// The tenant.
    var namespace: String
    /// The prompt.
    var tokens: [UInt32]
    /// The stage.
    var stage: Stage = .placing
    /// The chosen worker and its slot (meaningful once placed).
    var worker = WorkerID(0)
    /// The chosen worker's slot.
    var slot = 0
    /// Pages reserved on the chosen worker (its `placedSinceHeartbeat` share).
    var reservedPages = 0
    /// Workers tried so far.
    var tried: [WorkerID] = []
    /// The last refusal, answered when no further worker can be tried.
    var lastError: ErrorReply?
}

import CacheProtocol

/// One sequence's new shard being opened during a spill: the sequence continues on another worker
/// from `start` (its length, a page boundary) because its tail worker is out of pages.
struct SpillOpen: Sendable, Hashable {
    /// Where the open stands.
    enum State: Sendable, Hashable {
        /// The worker's `OpenSequence` answer is awaited.
        case awaited
        /// The worker opened the shard.
        case opened
        /// No worker could take the shard; the last refusal.
        case failed(ErrorReply)
    }

    /// The sequence.
    var sequenceID: UInt64
    /// Its namespace, sent with the open.
    var namespace: String
    /// Where the new shard starts: the sequence's length, a multiple of the page size.
    var start: Int
    /// Tokens the new shard must take at once (the refused entry's query tokens).
    var tokens: Int
    /// The worker asked to open it, and its slot.
    var worker = WorkerID(0)
    /// The worker's registry slot.
    var slot = 0
    /// Pages reserved on that worker (its `placedSinceHeartbeat` share).
    var reservedPages = 0
    /// Workers asked so far.
    var tried: [WorkerID] = []
    /// Where the open stands.
    var state = State.awaited
}

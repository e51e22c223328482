/// One shard of a sequence moving off a draining worker: which target was asked to adopt it, and
/// where the move stands.
struct ShardMove: Sendable, Hashable {
    /// Where the move stands.
    enum State: Sendable, Hashable {
        /// Requests on the sequence are in flight, or a target refused: an adoption is sent once
        /// none is (new requests on the sequence are held meanwhile).
        case waitingForIdle
        /// The target's `AdoptShard` answer is awaited.
        case adopting
    }

    /// The sequence.
    var sequenceID: UInt64
    /// Its namespace, sent with the adoption.
    var namespace: String
    /// Where the moving shard starts.
    var start: Int
    /// The worker asked to adopt it.
    var target = WorkerID(0)
    /// The target's registry slot.
    var slot = 0
    /// Pages reserved on the target (its `placedSinceHeartbeat` share).
    var reservedPages = 0
    /// Targets asked so far.
    var tried: [WorkerID] = []
    /// Why the last target did not adopt it.
    var lastFailure: String?
    /// Where the move stands.
    var state = State.waitingForIdle
}

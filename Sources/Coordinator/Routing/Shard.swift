/// One contiguous run of a sequence's tokens held by one worker, from token `start` to the next
/// shard's start (the last shard, the tail, to the sequence's end). Only the tail takes new tokens.
struct Shard: Sendable, Hashable {
    /// The worker holding it.
    var worker: WorkerID
    /// The worker's registry slot.
    var slot: Int
    /// Token position where it starts (a multiple of the page size).
    var start: Int
}

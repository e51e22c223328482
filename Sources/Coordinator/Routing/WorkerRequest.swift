/// A request the coordinator sent to a worker and awaits, with the instant by which it must be
/// answered and what its answer serves.
struct WorkerRequest: Sendable, Hashable {
    /// What the answer serves.
    enum Purpose: Sendable, Hashable {
        /// Part `part` of the client operation `operation`.
        case operation(UInt64, part: Int)
        /// A snapshot of the worker's prefix cache.
        case snapshot
        /// A list of the worker's open shards, asked after its registration.
        case shardList
        /// A request whose answer is not needed: a `CloseSequence` cleaning up a shard of a failed
        /// or moved sequence, or a `SealShard`.
        case cleanup(sequenceID: UInt64)
        /// A `PullPages` that gives pages their replicas.
        case replication(ReplicationPull)
        /// A step of worker `drained`'s drain.
        case drain(drained: WorkerID, step: DrainStep)
    }

    /// The step of a drain a request serves.
    enum DrainStep: Sendable, Hashable {
        /// An `AdoptShard` of this sequence's shard.
        case adopt(sequenceID: UInt64)
        /// A `PullPages` of the drained worker's cached pages.
        case pull
        /// The drained worker's own `Drain`.
        case leave
    }

    /// The request id on the coordinator's connection to the worker.
    var id: UInt64
    /// The worker.
    var worker: WorkerID
    /// When it is given up.
    var deadline: MonotonicInstant
    /// What its answer serves.
    var purpose: Purpose
}

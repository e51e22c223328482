import CacheProtocol

/// A worker being drained: its shards moving to other workers, then its cached prefix pages
/// pulled by another worker, then its own `Drain`.
struct DrainProgress: Sendable {
    /// Where the drain stands.
    enum Stage: Sendable, Hashable {
        /// Shards are moving (at most `CoordinatorConfiguration.drainMovesInFlight` at once).
        case moving
        /// `target` is pulling the worker's cached pages, a batch at a time; `remaining` follow.
        case pulling(target: WorkerID, remaining: [PrefixKey], awaiting: Bool)
        /// The worker's own `Drain` is awaited.
        case leaving(awaiting: Bool)
    }

    /// The worker being drained.
    let worker: WorkerID
    /// Its registry slot.
    let slot: Int
    /// Where it stands.
    var stage = Stage.moving
    /// Sequences with a shard on the worker still to move, in the order they will be tried; taken
    /// from the sequence table when the drain starts, and again whenever it and the moves run out
    /// (for sequences whose open on the worker was answered meanwhile).
    var queue: [UInt64] = []
    /// Moves under way, by sequence id.
    var moves: [UInt64: ShardMove] = [:]
    /// Sequences whose move has ended, moved or not: they are not tried again.
    var settled: Set<UInt64> = []
    /// Shards moved off the worker.
    var moved = 0
    /// Shards no worker could adopt: they stay on the worker, which leaves once they close.
    var stayed = 0
}

/// The sequence-table step of a spill: a sequence whose tail worker is out of pages continues on
/// another worker as a new tail shard. The flow (choosing the worker, its `OpenSequence` with the
/// shard start, re-sending the refused request) is `DecodeSpillHandling`; this is the part that
/// keeps the table, routing and loads right once the new shard exists.
extension CoordinatorInstance {
    /// Why a shard could not be added.
    enum ShardContinuationError: Error, Sendable, Hashable, CustomStringConvertible {
        /// No open sequence with this id.
        case unknownSequence(UInt64)
        /// The worker is unknown, not routable or not a compute worker.
        case workerUnusable(WorkerID)
        /// The worker already holds a shard of the sequence.
        case alreadyHeld(WorkerID)
        /// The start is not a page boundary at or after the tail's start.
        case badStart(Int)

        /// A readable account.
        var description: String {
            switch self {
            case let .unknownSequence(id): "no open sequence \(id)"
            case let .workerUnusable(worker): "worker \(worker) cannot hold a shard"
            case let .alreadyHeld(worker): "worker \(worker) already holds a shard of the sequence"
            case let .badStart(start): "a new shard cannot start at token \(start)"
            }
        }
    }

    /// Records that sequence `id` continues on `worker` from token `start` (a page boundary, at or
    /// after the current tail's start): the new shard becomes the tail, so prefills and appending
    /// decodes go there while earlier shards keep answering decodes without k and v.
    mutating func continueOnNewShard(_ id: UInt64, worker: WorkerID, start: Int) throws(ShardContinuationError) {
        guard let record = sequences[id], record.phase == .open else { throw .unknownSequence(id) }
        guard let slot = registry.slot(of: worker), registry[slot].takesSequences else { throw .workerUnusable(worker) }
        guard !record.hasShard(on: worker) else { throw .alreadyHeld(worker) }
        guard start % configuration.spec.pageSize == 0, start >= record.tail.start else { throw .badStart(start) }
        updateSequence(id) { record in
            record.shards.append(Shard(worker: worker, slot: slot, start: start))
            record.length = max(record.length, start)
        }
    }
}

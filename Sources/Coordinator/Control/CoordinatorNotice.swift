/// Events of the coordinator's life worth a log line; they change nothing by themselves.
public enum CoordinatorNotice: Sendable, Hashable, CustomStringConvertible {
    /// A worker registered (`newRun`: it was live, so its previous run ended).
    case workerRegistered(WorkerID, endpoint: String, newRun: Bool)
    /// A worker's registration was refused.
    case workerRefused(WorkerID, reason: String)
    /// A worker missed its heartbeats; so many of its sequences failed and so many requests to it
    /// were answered `unavailable`.
    case workerDied(WorkerID, failedSequences: Int, answeredRequests: Int)
    /// A worker's run ended otherwise (deregistration, or a new registration while live).
    case workerLeft(WorkerID, reason: String, failedSequences: Int, answeredRequests: Int)
    /// A snapshot was asked of a worker.
    case snapshotRequested(WorkerID, SnapshotReason)
    /// A worker's snapshot replaced what the index knew of it.
    case snapshotApplied(WorkerID, keys: Int, staleRemoved: Int)
    /// A request to a worker got no answer by its deadline.
    case requestTimedOut(WorkerID, requestID: UInt64)
    /// An answer came for a request no longer awaited (answered already, or its worker's run ended).
    case lateReply(WorkerID, requestID: UInt64)
    /// A sequence failed.
    case sequenceFailed(UInt64, reason: String)
    /// A drain started.
    case drainStarted(WorkerID, sequences: Int)
    /// A shard of a sequence moved off a draining worker.
    case shardMoved(UInt64, from: WorkerID, to: WorkerID, pages: Int, bytes: UInt64)
    /// No worker could adopt a shard: it stays on the draining worker.
    case shardStayed(UInt64, on: WorkerID, reason: String)
    /// A draining worker was sent its own `Drain`: the hand-over is over.
    case drainHandedOver(WorkerID, moved: Int, stayed: Int)
    /// A drain ended before its hand-over did (its worker died or left).
    case drainEnded(WorkerID, reason: String)
    /// A sequence was rebuilt from its workers' shard lists (its shards' workers, tail last, and
    /// its length).
    case sequenceRecovered(UInt64, workers: [WorkerID], length: Int)
    /// A shard a worker reported was closed: the coordinator does not know it.
    case staleShardClosed(UInt64, worker: WorkerID)
    /// A worker's shard list could not be had; its shards stay unknown.
    case shardListFailed(WorkerID, reason: String)
    /// The recovery window closed: so many sequences were rebuilt then, so many failed, and so
    /// many requests still held (naming a sequence nobody reported) were routed.
    case recoveryEnded(recovered: Int, failed: Int, heldRequests: Int)
    /// A replication pull to a worker from a holder did not bring so many pages, for this reason.
    case replicationFailed(WorkerID, from: WorkerID, pages: Int, reason: String)

    /// A log line.
    public var description: String {
        switch self {
        case let .workerRegistered(id, endpoint, newRun):
            "worker \(id) registered at \(endpoint)\(newRun ? " (a new run; the previous one ended)" : "")"
        case let .workerRefused(id, reason): "worker \(id) refused: \(reason)"
        case let .workerDied(id, sequences, requests):
            "worker \(id) is dead: \(sequences) sequences failed, \(requests) requests answered unavailable"
        case let .workerLeft(id, reason, sequences, requests):
            "worker \(id) left (\(reason)): \(sequences) sequences failed, \(requests) requests answered unavailable"
        case let .snapshotRequested(id, reason): "snapshot asked of worker \(id): \(reason)"
        case let .snapshotApplied(id, keys, stale):
            "snapshot of worker \(id) applied: \(keys) keys, \(stale) stale keys removed"
        case let .requestTimedOut(id, requestID): "request \(requestID) to worker \(id) timed out"
        case let .lateReply(id, requestID): "late answer \(requestID) from worker \(id) dropped"
        case let .sequenceFailed(id, reason): "sequence \(id) failed: \(reason)"
        case let .drainStarted(id, sequences): "draining worker \(id): \(sequences) sequences to move"
        case let .shardMoved(id, from, to, pages, bytes):
            "sequence \(id) moved from worker \(from) to worker \(to) (\(pages) pages, \(bytes) bytes)"
        case let .shardStayed(id, worker, reason): "sequence \(id) stays on draining worker \(worker): \(reason)"
        case let .drainHandedOver(id, moved, stayed):
            "worker \(id) handed over \(moved) sequences (\(stayed) stay until they close) and was told to leave"
        case let .drainEnded(id, reason): "the drain of worker \(id) ended: \(reason)"
        case let .sequenceRecovered(id, workers, length):
            "sequence \(id) recovered: \(length) tokens on worker\(workers.count == 1 ? "" : "s") \(workers.map(\.description).joined(separator: ", "))"
        case let .staleShardClosed(id, worker): "shard of unknown sequence \(id) closed on worker \(worker)"
        case let .shardListFailed(id, reason): "the shard list of worker \(id) could not be had: \(reason)"
        case let .recoveryEnded(recovered, failed, held):
            "recovery window closed: \(recovered) more sequences recovered, \(failed) failed, \(held) requests for sequences nobody reported routed"
        case let .replicationFailed(id, source, pages, reason):
            "replication of \(pages) pages to worker \(id) from worker \(source) failed: \(reason)"
        }
    }
}

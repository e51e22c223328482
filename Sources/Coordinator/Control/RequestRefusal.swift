import CacheProtocol

/// Why the coordinator answers a request with an `ErrorReply`, with the error code each reason
/// maps to. Every refusal leaves the coordinator's state as it was.
enum RequestRefusal: Error, Sendable, Hashable, CustomStringConvertible {
    /// A message this connection does not carry.
    case unexpected(MessageType, connection: String)
    /// Fields that do not fit together.
    case malformed(String)
    /// No sequence with this id.
    case unknownSequence(UInt64)
    /// The sequence failed, for this reason.
    case sequenceFailed(UInt64, reason: String)
    /// A sequence appears twice in one decode batch.
    case duplicateEntry(UInt64)
    /// No worker has room for the prompt.
    case noCapacity(pages: Int, workers: Int)
    /// The sequence's tail is out of pages and no other worker could take a new shard of it.
    case noSpillCapacity(UInt64)
    /// No worker with this id.
    case unknownWorker(WorkerID)
    /// The worker is dead, gone or draining.
    case workerUnavailable(WorkerID, state: WorkerState)
    /// No answer in time.
    case timedOut(String)
    /// A batch was applied on some workers and not others.
    case partlyApplied(failed: [UInt64], cause: String)
    /// A worker answered something that does not fit the request.
    case badWorkerAnswer(String)

    /// The error code.
    var code: ErrorCode {
        switch self {
        case .unexpected, .malformed, .duplicateEntry, .unknownWorker: .badRequest
        case .unknownSequence: .unknownSequence
        case .noCapacity, .noSpillCapacity: .capacity
        case .sequenceFailed, .workerUnavailable, .timedOut, .partlyApplied: .unavailable
        case .badWorkerAnswer: .internal
        }
    }

    /// A readable account.
    var description: String {
        switch self {
        case let .unexpected(type, connection):
            "\(type) is not a request the coordinator takes on its \(connection) endpoint"
        case let .malformed(reason): reason
        case let .unknownSequence(id): "no open sequence \(id)"
        case let .sequenceFailed(id, reason): "sequence \(id) failed (\(reason)); reopen it"
        case let .duplicateEntry(id): "sequence \(id) appears twice in one decode batch"
        case let .noCapacity(pages, workers):
            workers == 0
                ? "no live compute worker can take a sequence"
                : "no worker has room for the prompt's \(pages) pages (\(workers) live compute workers)"
        case let .noSpillCapacity(id):
            "the worker holding sequence \(id)'s tail is out of pages and no other worker could take a new shard of it"
        case let .unknownWorker(id): "no worker \(id) is registered"
        case let .workerUnavailable(id, state): "worker \(id) is \(state)"
        case let .timedOut(what): "\(what) was not answered in time"
        case let .partlyApplied(failed, cause):
            "the batch was applied on some shards and not others (\(cause)); sequences \(failed.map(String.init).joined(separator: ", ")) failed and must be reopened"
        case let .badWorkerAnswer(reason): reason
        }
    }

    /// The answer: `ErrorReply` with `code` and `description` (cut to the protocol's limit).
    var reply: ErrorReply {
        var text = description
        if text.utf8.count > WireLimits.maxMessageTextBytes {
            text = String(decoding: Array(text.utf8.prefix(WireLimits.maxMessageTextBytes - 16)), as: UTF8.self) + "..."
        }
        return ErrorReply(code: code, message: text)
    }
}

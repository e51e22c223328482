import Logging

extension CoordinatorNotice {
    /// The level the shell logs this notice at: failures an operator must see as warnings,
    /// membership changes as info, index and late-answer bookkeeping as debug.
    var logLevel: Logger.Level {
        switch self {
        case .workerRefused, .workerDied, .requestTimedOut, .shardListFailed: .warning
        case .workerRegistered, .workerLeft, .drainStarted, .drainHandedOver: .info
        case .sequenceRecovered, .staleShardClosed, .recoveryEnded: .info
        case .shardStayed, .drainEnded: .warning
        case .shardMoved: .debug
        case .sequenceFailed, .replicationFailed: .notice
        case .snapshotRequested, .snapshotApplied, .lateReply: .debug
        }
    }
}

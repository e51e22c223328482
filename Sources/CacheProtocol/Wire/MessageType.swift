/// The u16 code in every header saying what the body holds. Codes are never reused; a minor
/// version may add codes. The receiver of a code it does not know answers `ErrorReply` `badRequest`.
public enum MessageType: UInt16, Sendable, Hashable, CaseIterable {
    /// `RegisterWorker`: worker → coordinator.
    case registerWorker = 1
    /// `RegisterWorkerReply`.
    case registerWorkerReply = 2
    /// `Heartbeat`: worker → coordinator, answered by `Ack`.
    case heartbeat = 3
    /// `Ack`: the request succeeded and has nothing to return.
    case ack = 4
    /// `ErrorReply`: the request failed.
    case errorReply = 5
    /// `DeregisterWorker`: worker → coordinator on shutdown, answered by `Ack`.
    case deregisterWorker = 6
    /// `RegisterWorkerAccepted` (1.1): the acceptance of a 1.1 worker, with the heartbeat terms.
    case registerWorkerAccepted = 7
    /// `HeartbeatReport` (1.1): worker → coordinator, a heartbeat with placement figures.
    case heartbeatReport = 8
    /// `OpenSequence`: client → coordinator, coordinator → worker.
    case openSequence = 16
    /// `OpenSequenceReply`.
    case openSequenceReply = 17
    /// `Prefill`: client → coordinator → worker.
    case prefill = 18
    /// `PrefillReply`.
    case prefillReply = 19
    /// `Decode`: client → coordinator, coordinator → worker (one shard's part).
    case decode = 20
    /// `DecodeReply`.
    case decodeReply = 21
    /// `Truncate`, answered by `Ack`.
    case truncate = 22
    /// `CloseSequence`, answered by `Ack`.
    case closeSequence = 23
    /// `AdoptShard`: coordinator → worker (added in 1.1).
    case adoptShard = 24
    /// `AdoptShardReply` (added in 1.1).
    case adoptShardReply = 25
    /// `ShardExport`: worker → worker, peer to peer (added in 1.1).
    case shardExport = 26
    /// `ShardExportReply` (added in 1.1).
    case shardExportReply = 27
    /// `SealShard` (1.1): coordinator → worker, a shard that is no longer its sequence's tail.
    case sealShard = 28
    /// `PagePut`, answered by `Ack`.
    case pagePut = 32
    /// `PageGet`.
    case pageGet = 33
    /// `PageGetReply`.
    case pageGetReply = 34
    /// `PageContains`.
    case pageContains = 35
    /// `PageContainsReply`.
    case pageContainsReply = 36
    /// `PageRemove`, answered by `Ack`.
    case pageRemove = 37
    /// `PullPages`: coordinator → worker.
    case pullPages = 38
    /// `PullPagesReply`.
    case pullPagesReply = 39
    /// `PrefetchPages`: coordinator → worker.
    case prefetchPages = 40
    /// `PrefetchPagesReply`.
    case prefetchPagesReply = 41
    /// `CacheEvent`: worker → coordinator, never answered.
    case cacheEvent = 48
    /// `SnapshotRequest`: coordinator → worker.
    case snapshotRequest = 49
    /// `SnapshotReply`.
    case snapshotReply = 50
    /// `CacheTierEvent` (1.1): worker → coordinator, held pages moved between tiers; not answered.
    case cacheTierEvent = 51
    /// `TierSnapshotReply` (1.1): `SnapshotReply` with each page's tier.
    case tierSnapshotReply = 52
    /// `ShardListRequest`: coordinator → worker (added in 1.1).
    case shardListRequest = 54
    /// `ShardListReply` (added in 1.1).
    case shardListReply = 55
    /// `StatsRequest`.
    case statsRequest = 64
    /// `StatsReply`.
    case statsReply = 65
    /// `Drain`, answered by `Ack`.
    case drain = 66
}

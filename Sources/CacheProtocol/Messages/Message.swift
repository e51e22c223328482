/// Every message of the protocol, one case per `MessageType`. This file is the one place that maps
/// each body type to its type code and back.
public enum Message: Sendable, Hashable {
    /// A `RegisterWorker`.
    case registerWorker(RegisterWorker)
    /// A `RegisterWorkerReply`.
    case registerWorkerReply(RegisterWorkerReply)
    /// A `Heartbeat`.
    case heartbeat(Heartbeat)
    /// An `Ack`.
    case ack(Ack)
    /// An `ErrorReply`.
    case errorReply(ErrorReply)
    /// A `DeregisterWorker`.
    case deregisterWorker(DeregisterWorker)
    /// A `RegisterWorkerAccepted`.
    case registerWorkerAccepted(RegisterWorkerAccepted)
    /// A `HeartbeatReport`.
    case heartbeatReport(HeartbeatReport)
    /// An `OpenSequence`.
    case openSequence(OpenSequence)
    /// An `OpenSequenceReply`.
    case openSequenceReply(OpenSequenceReply)
    /// A `Prefill`.
    case prefill(Prefill)
    /// A `PrefillReply`.
    case prefillReply(PrefillReply)
    /// A `Decode`.
    case decode(Decode)
    /// A `DecodeReply`.
    case decodeReply(DecodeReply)
    /// A `Truncate`.
    case truncate(Truncate)
    /// A `CloseSequence`.
    case closeSequence(CloseSequence)
    /// An `AdoptShard`.
    case adoptShard(AdoptShard)
    /// An `AdoptShardReply`.
    case adoptShardReply(AdoptShardReply)
    /// A `ShardExport`.
    case shardExport(ShardExport)
    /// A `ShardExportReply`.
    case shardExportReply(ShardExportReply)
    /// A `SealShard`.
    case sealShard(SealShard)
    /// A `PagePut`.
    case pagePut(PagePut)
    /// A `PageGet`.
    case pageGet(PageGet)
    /// A `PageGetReply`.
    case pageGetReply(PageGetReply)
    /// A `PageContains`.
    case pageContains(PageContains)
    /// A `PageContainsReply`.
    case pageContainsReply(PageContainsReply)
    /// A `PageRemove`.
    case pageRemove(PageRemove)
    /// A `PullPages`.
    case pullPages(PullPages)
    /// A `PullPagesReply`.
    case pullPagesReply(PullPagesReply)
    /// A `PrefetchPages`.
    case prefetchPages(PrefetchPages)
    /// A `PrefetchPagesReply`.
    case prefetchPagesReply(PrefetchPagesReply)
    /// A `CacheEvent`.
    case cacheEvent(CacheEvent)
    /// A `SnapshotRequest`.
    case snapshotRequest(SnapshotRequest)
    /// A `SnapshotReply`.
    case snapshotReply(SnapshotReply)
    /// A `CacheTierEvent`.
    case cacheTierEvent(CacheTierEvent)
    /// A `TierSnapshotReply`.
    case tierSnapshotReply(TierSnapshotReply)
    /// A `ShardListRequest`.
    case shardListRequest(ShardListRequest)
    /// A `ShardListReply`.
    case shardListReply(ShardListReply)
    /// A `StatsRequest`.
    case statsRequest(StatsRequest)
    /// A `StatsReply`.
    case statsReply(StatsReply)
    /// A `Drain`.
    case drain(Drain)

    /// The type code written in the header.
    public var type: MessageType {
        switch self {
        case .registerWorker: .registerWorker
        case .registerWorkerReply: .registerWorkerReply
        case .heartbeat: .heartbeat
        case .ack: .ack
        case .errorReply: .errorReply
        case .deregisterWorker: .deregisterWorker
        case .registerWorkerAccepted: .registerWorkerAccepted
        case .heartbeatReport: .heartbeatReport
        case .openSequence: .openSequence
        case .openSequenceReply: .openSequenceReply
        case .prefill: .prefill
        case .prefillReply: .prefillReply
        case .decode: .decode
        case .decodeReply: .decodeReply
        case .truncate: .truncate
        case .closeSequence: .closeSequence
        case .adoptShard: .adoptShard
        case .adoptShardReply: .adoptShardReply
        case .shardExport: .shardExport
        case .shardExportReply: .shardExportReply
        case .sealShard: .sealShard
        case .pagePut: .pagePut
        case .pageGet: .pageGet
        case .pageGetReply: .pageGetReply
        case .pageContains: .pageContains
        case .pageContainsReply: .pageContainsReply
        case .pageRemove: .pageRemove
        case .pullPages: .pullPages
        case .pullPagesReply: .pullPagesReply
        case .prefetchPages: .prefetchPages
        case .prefetchPagesReply: .prefetchPagesReply
        case .cacheEvent: .cacheEvent
        case .snapshotRequest: .snapshotRequest
        case .snapshotReply: .snapshotReply
        case .cacheTierEvent: .cacheTierEvent
        case .tierSnapshotReply: .tierSnapshotReply
        case .shardListRequest: .shardListRequest
        case .shardListReply: .shardListReply
        case .statsRequest: .statsRequest
        case .statsReply: .statsReply
        case .drain: .drain
        }
    }

    /// The body, for encoding.
    var body: any WireBody {
        switch self {
        case .registerWorker(let body): body
        case .registerWorkerReply(let body): body
        case .heartbeat(let body): body
        case .ack(let body): body
        case .errorReply(let body): body
        case .deregisterWorker(let body): body
        case .registerWorkerAccepted(let body): body
        case .heartbeatReport(let body): body
        case .openSequence(let body): body
        case .openSequenceReply(let body): body
        case .prefill(let body): body
        case .prefillReply(let body): body
        case .decode(let body): body
        case .decodeReply(let body): body
        case .truncate(let body): body
        case .closeSequence(let body): body
        case .adoptShard(let body): body
        case .adoptShardReply(let body): body
        case .shardExport(let body): body
        case .shardExportReply(let body): body
        case .sealShard(let body): body
        case .pagePut(let body): body
        case .pageGet(let body): body
        case .pageGetReply(let body): body
        case .pageContains(let body): body
        case .pageContainsReply(let body): body
        case .pageRemove(let body): body
        case .pullPages(let body): body
        case .pullPagesReply(let body): body
        case .prefetchPages(let body): body
        case .prefetchPagesReply(let body): body
        case .cacheEvent(let body): body
        case .snapshotRequest(let body): body
        case .snapshotReply(let body): body
        case .cacheTierEvent(let body): body
        case .tierSnapshotReply(let body): body
        case .shardListRequest(let body): body
        case .shardListReply(let body): body
        case .statsRequest(let body): body
        case .statsReply(let body): body
        case .drain(let body): body
        }
    }

    /// Reads the body of a message of type `type`.
    static func decode(
        type: MessageType,
        body: inout WireReader,
        bulk: inout BulkFrameReader
    ) throws(WireError) -> Message {
        switch type {
        case .registerWorker: .registerWorker(try RegisterWorker(body: &body, bulk: &bulk))
        case .registerWorkerReply: .registerWorkerReply(try RegisterWorkerReply(body: &body, bulk: &bulk))
        case .heartbeat: .heartbeat(try Heartbeat(body: &body, bulk: &bulk))
        case .ack: .ack(try Ack(body: &body, bulk: &bulk))
        case .errorReply: .errorReply(try ErrorReply(body: &body, bulk: &bulk))
        case .deregisterWorker: .deregisterWorker(try DeregisterWorker(body: &body, bulk: &bulk))
        case .registerWorkerAccepted: .registerWorkerAccepted(try RegisterWorkerAccepted(body: &body, bulk: &bulk))
        case .heartbeatReport: .heartbeatReport(try HeartbeatReport(body: &body, bulk: &bulk))
        case .openSequence: .openSequence(try OpenSequence(body: &body, bulk: &bulk))
        case .openSequenceReply: .openSequenceReply(try OpenSequenceReply(body: &body, bulk: &bulk))
        case .prefill: .prefill(try Prefill(body: &body, bulk: &bulk))
        case .prefillReply: .prefillReply(try PrefillReply(body: &body, bulk: &bulk))
        case .decode: .decode(try Decode(body: &body, bulk: &bulk))
        case .decodeReply: .decodeReply(try DecodeReply(body: &body, bulk: &bulk))
        case .truncate: .truncate(try Truncate(body: &body, bulk: &bulk))
        case .closeSequence: .closeSequence(try CloseSequence(body: &body, bulk: &bulk))
        case .adoptShard: .adoptShard(try AdoptShard(body: &body, bulk: &bulk))
        case .adoptShardReply: .adoptShardReply(try AdoptShardReply(body: &body, bulk: &bulk))
        case .shardExport: .shardExport(try ShardExport(body: &body, bulk: &bulk))
        case .shardExportReply: .shardExportReply(try ShardExportReply(body: &body, bulk: &bulk))
        case .sealShard: .sealShard(try SealShard(body: &body, bulk: &bulk))
        case .pagePut: .pagePut(try PagePut(body: &body, bulk: &bulk))
        case .pageGet: .pageGet(try PageGet(body: &body, bulk: &bulk))
        case .pageGetReply: .pageGetReply(try PageGetReply(body: &body, bulk: &bulk))
        case .pageContains: .pageContains(try PageContains(body: &body, bulk: &bulk))
        case .pageContainsReply: .pageContainsReply(try PageContainsReply(body: &body, bulk: &bulk))
        case .pageRemove: .pageRemove(try PageRemove(body: &body, bulk: &bulk))
        case .pullPages: .pullPages(try PullPages(body: &body, bulk: &bulk))
        case .pullPagesReply: .pullPagesReply(try PullPagesReply(body: &body, bulk: &bulk))
        case .prefetchPages: .prefetchPages(try PrefetchPages(body: &body, bulk: &bulk))
        case .prefetchPagesReply: .prefetchPagesReply(try PrefetchPagesReply(body: &body, bulk: &bulk))
        case .cacheEvent: .cacheEvent(try CacheEvent(body: &body, bulk: &bulk))
        case .snapshotRequest: .snapshotRequest(try SnapshotRequest(body: &body, bulk: &bulk))
        case .snapshotReply: .snapshotReply(try SnapshotReply(body: &body, bulk: &bulk))
        case .cacheTierEvent: .cacheTierEvent(try CacheTierEvent(body: &body, bulk: &bulk))
        case .tierSnapshotReply: .tierSnapshotReply(try TierSnapshotReply(body: &body, bulk: &bulk))
        case .shardListRequest: .shardListRequest(try ShardListRequest(body: &body, bulk: &bulk))
        case .shardListReply: .shardListReply(try ShardListReply(body: &body, bulk: &bulk))
        case .statsRequest: .statsRequest(try StatsRequest(body: &body, bulk: &bulk))
        case .statsReply: .statsReply(try StatsReply(body: &body, bulk: &bulk))
        case .drain: .drain(try Drain(body: &body, bulk: &bulk))
        }
    }
}

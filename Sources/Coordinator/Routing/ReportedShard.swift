import CacheProtocol

/// A sequence shard a worker reported open in its `ShardListReply`, kept while the coordinator
/// rebuilds the sequence after a restart.
struct ReportedShard: Sendable, Hashable {
    /// The worker holding it.
    var worker: WorkerID
    /// The worker's registry slot.
    var slot: Int
    /// What the worker said of it.
    var shard: ShardListReply.Shard

    /// Token position where it starts.
    var start: Int { Int(shard.shardStart) }
    /// The token position after its last token in layer 0.
    var end: Int { shard.layerZeroEnd }
}

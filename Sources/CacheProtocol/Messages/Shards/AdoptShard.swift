/// Coordinator → worker (added in 1.1): take over shard `shardStart` of sequence `sequenceID` from
/// the worker whose ROUTER is `peerEndpoint`. The receiver fetches the shard peer to peer
/// (`ShardExport`, its pages compressed with the page codec) and opens the sequence with the same
/// id, namespace, shard start, prompt keys, per-layer lengths and page contents; the source keeps
/// its shard until the coordinator closes it. Answered by `AdoptShardReply`, or refused
/// (`capacity`: not enough free pages; `unknownSequence`: the source does not hold the shard;
/// `unavailable`: the source did not answer, or the receiver takes no sequences; `badRequest`).
///
/// Body: sequence id (u64), namespace (string), shard start (u32), peer endpoint (string).
public struct AdoptShard: WireBody {
    /// The sequence whose shard moves.
    public var sequenceID: UInt64
    /// Its tenant namespace.
    public var namespace: String
    /// Token position where the shard starts (a multiple of the page size).
    public var shardStart: UInt32
    /// The source worker's ROUTER endpoint, as it registered it.
    public var peerEndpoint: String

    /// An adoption request.
    public init(sequenceID: UInt64, namespace: String, shardStart: UInt32, peerEndpoint: String) {
        self.sequenceID = sequenceID
        self.namespace = namespace
        self.shardStart = shardStart
        self.peerEndpoint = peerEndpoint
    }

    /// Writes the body fields in the order documented above.
    public func encode(body: inout WireWriter, bulk: inout [[UInt8]]) {
        body.write(sequenceID)
        body.write(namespace)
        body.write(shardStart)
        body.write(peerEndpoint)
    }

    /// Reads the body fields in the order documented above, checking each before reading it.
    public init(body: inout WireReader, bulk: inout BulkFrameReader) throws(WireError) {
        sequenceID = try body.readUInt64("sequence id")
        namespace = try body.readString("namespace", maxBytes: WireLimits.maxNamespaceBytes)
        shardStart = try body.readUInt32("shard start")
        peerEndpoint = try body.readString("peer endpoint", maxBytes: WireLimits.maxEndpointBytes)
    }
}

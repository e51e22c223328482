/// Worker → worker, peer to peer (added in 1.1): the adopting worker asks the source for a shard of
/// an open sequence, `WireLimits.maxPagesPerRequest` pages at a time from page `firstPage` of its
/// block table. The shard must be open on the source with this namespace and shard start (else
/// `unknownSequence`). Answered by `ShardExportReply`.
///
/// Body: sequence id (u64), namespace (string), shard start (u32), first page (u32).
public struct ShardExport: WireBody {
    /// The sequence whose shard is asked for.
    public var sequenceID: UInt64
    /// Its tenant namespace.
    public var namespace: String
    /// Token position where the shard starts.
    public var shardStart: UInt32
    /// Index in the shard's block table of the first page to send.
    public var firstPage: UInt32

    /// An export request.
    public init(sequenceID: UInt64, namespace: String, shardStart: UInt32, firstPage: UInt32) {
        self.sequenceID = sequenceID
        self.namespace = namespace
        self.shardStart = shardStart
        self.firstPage = firstPage
    }

    /// Writes the body fields in the order documented above.
    public func encode(body: inout WireWriter, bulk: inout [[UInt8]]) {
        body.write(sequenceID)
        body.write(namespace)
        body.write(shardStart)
        body.write(firstPage)
    }

    /// Reads the body fields in the order documented above, checking each before reading it.
    public init(body: inout WireReader, bulk: inout BulkFrameReader) throws(WireError) {
        sequenceID = try body.readUInt64("sequence id")
        namespace = try body.readString("namespace", maxBytes: WireLimits.maxNamespaceBytes)
        shardStart = try body.readUInt32("shard start")
        firstPage = try body.readUInt32("first page")
    }
}

/// Answer to `ShardExport` (added in 1.1): a shard's block-table state and a run of its pages.
///
/// Body: sequence id (u64), namespace (string), shard start (u32), prompt tokens (u32: the
/// prompt its `OpenSequence` carried, from position 0), total pages (u32: pages in the
/// shard's block table), first page (u32: index of the first page carried), layer lengths (u32
/// count, u32 each: tokens each layer holds, counted from the shard start; layers may differ),
/// keys (u32 count, 32 bytes each: the prefix keys of the shard's full prompt pages), page count
/// (u32); one bulk frame per page, in block-table order, each in the KV page encoding (LZ4).
/// The pages carried are at most `WireLimits.maxPagesPerRequest` and end at or before the total.
public struct ShardExportReply: WireBody {
    /// The sequence.
    public var sequenceID: UInt64
    /// Its tenant namespace.
    public var namespace: String
    /// Token position where the shard starts.
    public var shardStart: UInt32
    /// Tokens of the prompt the sequence was opened with, from position 0.
    public var promptTokens: UInt32
    /// Pages of the shard's block table.
    public var totalPages: UInt32
    /// Index of `pages[0]` in the block table.
    public var firstPage: UInt32
    /// Tokens each layer holds, from the shard start.
    public var layerLengths: [UInt32]
    /// Prefix keys of the shard's full prompt pages, in order.
    public var keys: [PrefixKey]
    /// Encoded pages from `firstPage`, in block-table order.
    public var pages: [[UInt8]]

    /// An answer.
    public init(
        sequenceID: UInt64,
        namespace: String,
        shardStart: UInt32,
        promptTokens: UInt32,
        totalPages: UInt32,
        firstPage: UInt32,
        layerLengths: [UInt32],
        keys: [PrefixKey],
        pages: [[UInt8]]
    ) {
        self.sequenceID = sequenceID
        self.namespace = namespace
        self.shardStart = shardStart
        self.promptTokens = promptTokens
        self.totalPages = totalPages
        self.firstPage = firstPage
        self.layerLengths = layerLengths
        self.keys = keys
        self.pages = pages
    }

    /// Writes the body fields in the order documented above.
    public func encode(body: inout WireWriter, bulk: inout [[UInt8]]) {
        body.write(sequenceID)
        body.write(namespace)
        body.write(shardStart)
        body.write(promptTokens)
        body.write(totalPages)
        body.write(firstPage)
        body.write(layerLengths)
        body.write(keys)
        body.writeCount(pages.count)
        bulk.append(contentsOf: pages)
    }

    /// Reads the body fields in the order documented above, checking each before reading it.
    public init(body: inout WireReader, bulk: inout BulkFrameReader) throws(WireError) {
        sequenceID = try body.readUInt64("sequence id")
        namespace = try body.readString("namespace", maxBytes: WireLimits.maxNamespaceBytes)
        shardStart = try body.readUInt32("shard start")
        promptTokens = try body.readUInt32("prompt tokens")
        totalPages = try body.readUInt32("total pages")
        firstPage = try body.readUInt32("first page")
        layerLengths = try body.readUInt32Array("layer lengths", limit: WireLimits.maxLayers)
        keys = try body.readDigestArray("keys", limit: WireLimits.maxKeysPerRequest)
        let count = try body.readCount("pages", limit: WireLimits.maxPagesPerRequest, elementBytes: 0)
        guard UInt64(firstPage) + UInt64(count) <= UInt64(totalPages) else {
            throw .inconsistent(
                "pages \(firstPage)..<\(UInt64(firstPage) + UInt64(count)) run past the \(totalPages) pages"
            )
        }
        var pages: [[UInt8]] = []
        pages.reserveCapacity(count)
        for _ in 0..<count { pages.append(try bulk.next()) }
        self.pages = pages
    }
}

/// One batched decode step of one layer: each entry's query tokens attend to its sequence.
/// Client → coordinator with k and v; the coordinator splits the batch by shard and sends each
/// worker its part — with k and v to the worker holding the tails (which appends them first),
/// without to the holders of earlier shards — then merges the partial results. Several query
/// tokens in an entry are a speculative verify (causal among themselves; a later `Truncate`
/// drops the rejected ones). Answered by `DecodeReply`.
///
/// Body: layer (u32), entry count (u32), per entry sequence id (u64) and query tokens (u32),
/// `AttentionInput` whose rows are the entries' query tokens in entry order.
public struct Decode: WireBody {
    /// One sequence of the batch.
    public struct Entry: Sendable, Hashable {
        /// The sequence.
        public var sequenceID: UInt64
        /// Query tokens of this sequence, at least 1.
        public var queryTokens: UInt32

        /// An entry.
        public init(sequenceID: UInt64, queryTokens: UInt32) {
            self.sequenceID = sequenceID
            self.queryTokens = queryTokens
        }
    }

    /// Layer index.
    public var layer: UInt32
    /// The batch, at most `WireLimits.maxDecodeEntries`.
    public let entries: [Entry]
    /// q `[rows, Hq, D]` with rows = sum of query tokens; k and v `[rows, Hkv, D]` or absent.
    public let input: AttentionInput

    /// A decode step; throws unless every entry has at least one query token and the rows of
    /// `input` are their sum.
    public init(layer: UInt32, entries: [Entry], input: AttentionInput) throws(WireError) {
        guard entries.count <= WireLimits.maxDecodeEntries else {
            throw .limitExceeded(
                field: "decode entries",
                value: UInt64(entries.count),
                limit: UInt64(WireLimits.maxDecodeEntries)
            )
        }
        var rows = 0
        for entry in entries {
            guard entry.queryTokens >= 1 else { throw .inconsistent("decode entry with no query token") }
            rows += Int(entry.queryTokens)
        }
        guard rows == input.rows else {
            throw .inconsistent("entries have \(rows) query tokens, q has \(input.rows) rows")
        }
        self.layer = layer
        self.entries = entries
        self.input = input
    }

    /// Writes the body fields in the order documented above.
    public func encode(body: inout WireWriter, bulk: inout [[UInt8]]) {
        body.write(layer)
        body.writeCount(entries.count)
        for entry in entries {
            body.write(entry.sequenceID)
            body.write(entry.queryTokens)
        }
        input.encode(body: &body, bulk: &bulk)
    }

    /// Reads the body fields in the order documented above, checking each before reading it.
    public init(body: inout WireReader, bulk: inout BulkFrameReader) throws(WireError) {
        let layer = try body.readUInt32("layer")
        let count = try body.readCount("decode entries", limit: WireLimits.maxDecodeEntries, elementBytes: 12)
        var entries = [Entry]()
        entries.reserveCapacity(count)
        for _ in 0..<count {
            let sequenceID = try body.readUInt64("sequence id")
            let queryTokens = try body.readUInt32("query tokens")
            entries.append(Entry(sequenceID: sequenceID, queryTokens: queryTokens))
        }
        try self.init(layer: layer, entries: entries, input: try AttentionInput(body: &body, bulk: &bulk))
    }
}

/// Starts a sequence. Client → coordinator with `sequenceID` 0 and `shardStart` 0: the coordinator
/// assigns the id, places the sequence where its prefix is cached and answers
/// `OpenSequenceReply`. Coordinator → worker with the assigned id: the worker holds the shard
/// that starts at token `shardStart`, maps the leading full pages of `tokens[shardStart...]` it has
/// in its prefix cache, and answers `OpenSequenceReply`.
///
/// Body: sequence id (u64), namespace (string), shard start (u32), token ids (u32 count, u32 each).
public struct OpenSequence: WireBody {
    /// 0 from a client; the coordinator's id for the sequence towards a worker.
    public var sequenceID: UInt64
    /// Tenant namespace, part of every prefix key: tenants never share cache entries.
    public var namespace: String
    /// Token position where the receiver's shard starts, a multiple of the page size; the tokens
    /// before it give the prefix keys' chain. 0 from a client.
    public var shardStart: UInt32
    /// The prompt's token ids from position 0 (towards a worker: up to the end of its shard).
    public var tokens: [UInt32]

    /// An open request.
    public init(sequenceID: UInt64, namespace: String, shardStart: UInt32, tokens: [UInt32]) {
        self.sequenceID = sequenceID
        self.namespace = namespace
        self.shardStart = shardStart
        self.tokens = tokens
    }

    /// Writes the body fields in the order documented above.
    public func encode(body: inout WireWriter, bulk: inout [[UInt8]]) {
        body.write(sequenceID)
        body.write(namespace)
        body.write(shardStart)
        body.write(tokens)
    }

    /// Reads the body fields in the order documented above, checking each before reading it.
    public init(body: inout WireReader, bulk: inout BulkFrameReader) throws(WireError) {
        sequenceID = try body.readUInt64("sequence id")
        namespace = try body.readString("namespace", maxBytes: WireLimits.maxNamespaceBytes)
        shardStart = try body.readUInt32("shard start")
        tokens = try body.readUInt32Array("tokens", limit: WireLimits.maxTokensPerRequest)
        guard Int(shardStart) <= tokens.count else {
            throw .inconsistent("shard start \(shardStart) is past the \(tokens.count) tokens")
        }
    }
}

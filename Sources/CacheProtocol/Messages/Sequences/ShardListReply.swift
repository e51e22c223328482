/// Answer to `ShardListRequest`: every sequence shard open on the worker, with what it holds.
/// Added in protocol version 1.1.
///
/// Body: worker id (u64), shard count (u32), then per shard sequence id (u64), namespace (string),
/// shard start (u32), tokens held in layer 0 (u32), tokens held in every layer (u32), prompt tokens
/// (u32), sealed (bool: the coordinator said with `SealShard` that the sequence goes on past it on
/// another worker).
public struct ShardListReply: WireBody {
    /// One open shard of a sequence.
    public struct Shard: Sendable, Hashable {
        /// The sequence's id (the coordinator's).
        public var sequenceID: UInt64
        /// The sequence's tenant namespace.
        public var namespace: String
        /// Token position where the shard starts, a multiple of the page size.
        public var shardStart: UInt32
        /// Tokens the shard holds in layer 0, counted from its start.
        public var layerZeroTokens: UInt32
        /// Tokens the shard holds in every layer (the shortest layer's), counted from its start; at
        /// most `layerZeroTokens`.
        public var everyLayerTokens: UInt32
        /// Tokens of the prompt the shard was opened with, from position 0 (for a shard that
        /// continues a sequence, its start).
        public var promptTokens: UInt32
        /// Whether the coordinator sealed it (`SealShard`): the sequence goes on past its end on
        /// another worker, so it is not the sequence's tail.
        public var sealed: Bool

        /// A shard.
        public init(
            sequenceID: UInt64,
            namespace: String,
            shardStart: UInt32,
            layerZeroTokens: UInt32,
            everyLayerTokens: UInt32,
            promptTokens: UInt32,
            sealed: Bool = false
        ) {
            self.sequenceID = sequenceID
            self.namespace = namespace
            self.shardStart = shardStart
            self.layerZeroTokens = layerZeroTokens
            self.everyLayerTokens = everyLayerTokens
            self.promptTokens = promptTokens
            self.sealed = sealed
        }

        /// The token position after the shard's last token in layer 0.
        public var layerZeroEnd: Int { Int(shardStart) + Int(layerZeroTokens) }
    }

    /// The answering worker.
    public var workerID: UInt64
    /// Its open shards, at most `WireLimits.maxShardsPerList`.
    public var shards: [Shard]

    /// An answer.
    public init(workerID: UInt64, shards: [Shard]) {
        self.workerID = workerID
        self.shards = shards
    }

    /// Writes the body fields in the order documented above.
    public func encode(body: inout WireWriter, bulk: inout [[UInt8]]) {
        body.write(workerID)
        body.writeCount(shards.count)
        for shard in shards {
            body.write(shard.sequenceID)
            body.write(shard.namespace)
            body.write(shard.shardStart)
            body.write(shard.layerZeroTokens)
            body.write(shard.everyLayerTokens)
            body.write(shard.promptTokens)
            body.write(shard.sealed)
        }
    }

    /// Reads the body fields in the order documented above, checking each before reading it.
    public init(body: inout WireReader, bulk: inout BulkFrameReader) throws(WireError) {
        workerID = try body.readUInt64("worker id")
        // Each shard takes at least 29 bytes (id, empty namespace, four u32, a bool).
        let count = try body.readCount("shards", limit: WireLimits.maxShardsPerList, elementBytes: 29)
        var shards = [Shard]()
        shards.reserveCapacity(count)
        for _ in 0..<count {
            let shard = Shard(
                sequenceID: try body.readUInt64("sequence id"),
                namespace: try body.readString("namespace", maxBytes: WireLimits.maxNamespaceBytes),
                shardStart: try body.readUInt32("shard start"),
                layerZeroTokens: try body.readUInt32("layer-0 tokens"),
                everyLayerTokens: try body.readUInt32("every-layer tokens"),
                promptTokens: try body.readUInt32("prompt tokens"),
                sealed: try body.readBool("sealed")
            )
            guard shard.everyLayerTokens <= shard.layerZeroTokens else {
                throw .inconsistent(
                    "sequence \(shard.sequenceID): \(shard.everyLayerTokens) tokens in every layer but \(shard.layerZeroTokens) in layer 0"
                )
            }
            guard UInt64(shard.shardStart) + UInt64(shard.layerZeroTokens) <= UInt64(UInt32.max) else {
                throw .inconsistent("sequence \(shard.sequenceID): the shard ends past token position 2³²")
            }
            shards.append(shard)
        }
        self.shards = shards
    }
}

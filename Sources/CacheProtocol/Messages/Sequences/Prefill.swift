/// Appends the K/V of new tokens to a sequence for one layer and computes their causal attention
/// over the cached and new tokens. Client → coordinator → the worker holding the sequence's tail.
/// Long prompts go in chunks, each with the next `startPosition`. Answered by `PrefillReply`.
///
/// Body: sequence id (u64), layer (u32), start position (u32), `AttentionInput` with k and v
/// (bulk frames q, k, v).
public struct Prefill: WireBody {
    /// The sequence.
    public var sequenceID: UInt64
    /// Layer index, `0..<layers`.
    public var layer: UInt32
    /// Position of the first new token; must equal the sequence's length in this layer, so a
    /// repeated or reordered chunk is refused instead of corrupting the cache.
    public var startPosition: UInt32
    /// q `[T, Hq, D]`, k and v `[T, Hkv, D]`.
    public let input: AttentionInput

    /// A prefill chunk; throws `inconsistent` when `input` has no k and v.
    public init(sequenceID: UInt64, layer: UInt32, startPosition: UInt32, input: AttentionInput) throws(WireError) {
        guard input.k != nil else { throw .inconsistent("prefill needs k and v") }
        self.sequenceID = sequenceID
        self.layer = layer
        self.startPosition = startPosition
        self.input = input
    }

    /// New tokens.
    public var tokenCount: Int { input.rows }

    /// Writes the body fields in the order documented above.
    public func encode(body: inout WireWriter, bulk: inout [[UInt8]]) {
        body.write(sequenceID)
        body.write(layer)
        body.write(startPosition)
        input.encode(body: &body, bulk: &bulk)
    }

    /// Reads the body fields in the order documented above, checking each before reading it.
    public init(body: inout WireReader, bulk: inout BulkFrameReader) throws(WireError) {
        let sequenceID = try body.readUInt64("sequence id")
        let layer = try body.readUInt32("layer")
        let startPosition = try body.readUInt32("start position")
        try self.init(
            sequenceID: sequenceID,
            layer: layer,
            startPosition: startPosition,
            input: try AttentionInput(body: &body, bulk: &bulk)
        )
    }
}

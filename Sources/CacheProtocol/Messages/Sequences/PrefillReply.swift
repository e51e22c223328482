/// Answer to `Prefill`: attention of the new tokens.
///
/// Body: sequence id (u64), layer (u32), `AttentionOutput` (bulk frames output f32 `[T, Hq, D]`,
/// lse f32 `[T, Hq]`).
public struct PrefillReply: WireBody {
    /// The sequence.
    public var sequenceID: UInt64
    /// The layer.
    public var layer: UInt32
    /// Output and log-sum-exp of every new token.
    public var result: AttentionOutput

    /// An answer.
    public init(sequenceID: UInt64, layer: UInt32, result: AttentionOutput) {
        self.sequenceID = sequenceID
        self.layer = layer
        self.result = result
    }

    /// Writes the body fields in the order documented above.
    public func encode(body: inout WireWriter, bulk: inout [[UInt8]]) {
        body.write(sequenceID)
        body.write(layer)
        result.encode(body: &body, bulk: &bulk)
    }

    /// Reads the body fields in the order documented above, checking each before reading it.
    public init(body: inout WireReader, bulk: inout BulkFrameReader) throws(WireError) {
        sequenceID = try body.readUInt64("sequence id")
        layer = try body.readUInt32("layer")
        result = try AttentionOutput(body: &body, bulk: &bulk)
    }
}

/// Answer to `Decode`: per query row (in the request's entry order) the output and log-sum-exp over
/// the keys the answerer holds, which the coordinator merges across shards exactly.
///
/// Body: layer (u32), `AttentionOutput` (bulk frames output f32 `[rows, Hq, D]`, lse f32 `[rows, Hq]`).
public struct DecodeReply: WireBody {
    /// The layer.
    public var layer: UInt32
    /// Output and log-sum-exp of every query row.
    public var result: AttentionOutput

    /// An answer.
    public init(layer: UInt32, result: AttentionOutput) {
        self.layer = layer
        self.result = result
    }

    /// Writes the body fields in the order documented above.
    public func encode(body: inout WireWriter, bulk: inout [[UInt8]]) {
        body.write(layer)
        result.encode(body: &body, bulk: &bulk)
    }

    /// Reads the body fields in the order documented above, checking each before reading it.
    public init(body: inout WireReader, bulk: inout BulkFrameReader) throws(WireError) {
        layer = try body.readUInt32("layer")
        result = try AttentionOutput(body: &body, bulk: &bulk)
    }
}

/// Coordinator → worker (added in 1.1): sequence `sequenceID`'s shard on the receiver ends at token
/// `end`, where the sequence goes on as another shard on another worker (a spill, or a moved
/// shard that is not the tail). The worker takes no new tokens into it (an append is refused
/// `badRequest`) until a `Truncate` makes it the tail again, and reports it sealed in its
/// `ShardListReply`, so that a restarted coordinator knows a later shard must exist. Answered by
/// `Ack`; `unknownSequence` when the worker holds no shard of the sequence, `badRequest` when the
/// shard holds tokens past `end`.
///
/// Body: sequence id (u64), end (u32: a token position).
public struct SealShard: WireBody {
    /// The sequence.
    public var sequenceID: UInt64
    /// Token position where the receiver's shard ends.
    public var end: UInt32

    /// A seal.
    public init(sequenceID: UInt64, end: UInt32) {
        self.sequenceID = sequenceID
        self.end = end
    }

    /// Writes the body fields in the order documented above.
    public func encode(body: inout WireWriter, bulk: inout [[UInt8]]) {
        body.write(sequenceID)
        body.write(end)
    }

    /// Reads the body fields in the order documented above, checking each before reading it.
    public init(body: inout WireReader, bulk: inout BulkFrameReader) throws(WireError) {
        sequenceID = try body.readUInt64("sequence id")
        end = try body.readUInt32("end")
    }
}

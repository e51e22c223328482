/// Shortens a sequence to `length` tokens in every layer (after a speculative verify rejected
/// tokens). Client → coordinator → the workers holding the cut shards. Answered by `Ack`.
///
/// Body: sequence id (u64), new length (u32).
public struct Truncate: WireBody {
    /// The sequence.
    public var sequenceID: UInt64
    /// Tokens kept; at most the current length.
    public var length: UInt32

    /// A truncation.
    public init(sequenceID: UInt64, length: UInt32) {
        self.sequenceID = sequenceID
        self.length = length
    }

    /// Writes the body fields in the order documented above.
    public func encode(body: inout WireWriter, bulk: inout [[UInt8]]) {
        body.write(sequenceID)
        body.write(length)
    }

    /// Reads the body fields in the order documented above, checking each before reading it.
    public init(body: inout WireReader, bulk: inout BulkFrameReader) throws(WireError) {
        sequenceID = try body.readUInt64("sequence id")
        length = try body.readUInt32("length")
    }
}

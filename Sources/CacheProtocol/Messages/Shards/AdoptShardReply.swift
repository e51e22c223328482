/// Answer to `AdoptShard` (added in 1.1): the receiver now holds the shard.
///
/// Body: sequence id (u64), length (u32: the absolute token count every layer of the adopted
/// shard holds, shard start included), pages (u32: pages adopted), bytes (u64: encoded page bytes
/// that crossed the network).
public struct AdoptShardReply: WireBody {
    /// The sequence whose shard was adopted.
    public var sequenceID: UInt64
    /// Tokens every layer holds, counted from the sequence's first token.
    public var length: UInt32
    /// Pages the shard took on the receiver.
    public var pages: UInt32
    /// Encoded (compressed) page bytes fetched from the source.
    public var bytes: UInt64

    /// An answer.
    public init(sequenceID: UInt64, length: UInt32, pages: UInt32, bytes: UInt64) {
        self.sequenceID = sequenceID
        self.length = length
        self.pages = pages
        self.bytes = bytes
    }

    /// Writes the body fields in the order documented above.
    public func encode(body: inout WireWriter, bulk: inout [[UInt8]]) {
        body.write(sequenceID)
        body.write(length)
        body.write(pages)
        body.write(bytes)
    }

    /// Reads the body fields in the order documented above, checking each before reading it.
    public init(body: inout WireReader, bulk: inout BulkFrameReader) throws(WireError) {
        sequenceID = try body.readUInt64("sequence id")
        length = try body.readUInt32("length")
        pages = try body.readUInt32("pages")
        bytes = try body.readUInt64("bytes")
    }
}

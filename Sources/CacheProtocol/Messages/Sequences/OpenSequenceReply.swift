/// Answer to `OpenSequence`.
///
/// Body: sequence id (u64), cached tokens (u32).
public struct OpenSequenceReply: WireBody {
    /// The sequence's id, used by every later request about it.
    public var sequenceID: UInt64
    /// Leading tokens whose KV is already cached (a multiple of the page size): prefill starts here.
    public var cachedTokens: UInt32

    /// An answer.
    public init(sequenceID: UInt64, cachedTokens: UInt32) {
        self.sequenceID = sequenceID
        self.cachedTokens = cachedTokens
    }

    /// Writes the body fields in the order documented above.
    public func encode(body: inout WireWriter, bulk: inout [[UInt8]]) {
        body.write(sequenceID)
        body.write(cachedTokens)
    }

    /// Reads the body fields in the order documented above, checking each before reading it.
    public init(body: inout WireReader, bulk: inout BulkFrameReader) throws(WireError) {
        sequenceID = try body.readUInt64("sequence id")
        cachedTokens = try body.readUInt32("cached tokens")
    }
}

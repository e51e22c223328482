/// Answer to `PageContains`: one flag per requested key, in request order.
///
/// Body: count (u32), one u8 (0/1) per key.
public struct PageContainsReply: WireBody {
    /// Whether each requested key is held.
    public var present: [Bool]

    /// An answer.
    public init(present: [Bool]) {
        self.present = present
    }

    /// Writes the body fields in the order documented above.
    public func encode(body: inout WireWriter, bulk: inout [[UInt8]]) {
        body.write(present)
    }

    /// Reads the body fields in the order documented above, checking each before reading it.
    public init(body: inout WireReader, bulk: inout BulkFrameReader) throws(WireError) {
        present = try body.readBoolArray("present", limit: WireLimits.maxKeysPerRequest)
    }
}

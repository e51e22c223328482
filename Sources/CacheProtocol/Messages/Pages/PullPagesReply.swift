/// Answer to `PullPages`: one flag per requested key, in request order, true when the page is now
/// in the receiver's prefix cache.
///
/// Body: count (u32), one u8 (0/1) per key.
public struct PullPagesReply: WireBody {
    /// Whether each page is now held.
    public var pulled: [Bool]

    /// An answer.
    public init(pulled: [Bool]) {
        self.pulled = pulled
    }

    /// Writes the body fields in the order documented above.
    public func encode(body: inout WireWriter, bulk: inout [[UInt8]]) {
        body.write(pulled)
    }

    /// Reads the body fields in the order documented above, checking each before reading it.
    public init(body: inout WireReader, bulk: inout BulkFrameReader) throws(WireError) {
        pulled = try body.readBoolArray("pulled", limit: WireLimits.maxKeysPerRequest)
    }
}

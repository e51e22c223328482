/// Answer to `PrefetchPages`: one flag per requested key, in request order, true when the page is
/// now in the receiver's hot pool.
///
/// Body: count (u32), one u8 (0/1) per key.
public struct PrefetchPagesReply: WireBody {
    /// Whether each page is now hot.
    public var hot: [Bool]

    /// An answer.
    public init(hot: [Bool]) {
        self.hot = hot
    }

    /// Writes the body fields in the order documented above.
    public func encode(body: inout WireWriter, bulk: inout [[UInt8]]) {
        body.write(hot)
    }

    /// Reads the body fields in the order documented above, checking each before reading it.
    public init(body: inout WireReader, bulk: inout BulkFrameReader) throws(WireError) {
        hot = try body.readBoolArray("hot", limit: WireLimits.maxKeysPerRequest)
    }
}

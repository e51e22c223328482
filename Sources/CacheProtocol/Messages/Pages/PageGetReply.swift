/// Answer to `PageGet`: the pages found, in request order; keys not found are left out.
///
/// Body: page count (u32), keys (32 bytes each); one bulk frame per page, in key order.
public struct PageGetReply: WireBody {
    /// The pages found, at most `WireLimits.maxPagesPerRequest`.
    public var pages: [EncodedPage]

    /// An answer.
    public init(pages: [EncodedPage]) {
        self.pages = pages
    }

    /// Writes the body fields in the order documented above.
    public func encode(body: inout WireWriter, bulk: inout [[UInt8]]) {
        EncodedPage.encode(pages, body: &body, bulk: &bulk)
    }

    /// Reads the body fields in the order documented above, checking each before reading it.
    public init(body: inout WireReader, bulk: inout BulkFrameReader) throws(WireError) {
        pages = try EncodedPage.decode(body: &body, bulk: &bulk)
    }
}

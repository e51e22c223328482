/// Stores pages in the receiver's prefix cache: the LMCache-like external backend (client → worker,
/// or worker → store worker when offloading). Answered by `Ack` once every page is stored, or
/// `ErrorReply` `capacity` (nothing stored) when they do not fit.
///
/// Body: page count (u32), keys (32 bytes each); one bulk frame per page, in key order.
public struct PagePut: WireBody {
    /// The pages, at most `WireLimits.maxPagesPerRequest`.
    public var pages: [EncodedPage]

    /// A put.
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

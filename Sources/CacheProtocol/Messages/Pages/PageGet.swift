/// Fetches pages by prefix key from the receiver's prefix cache, any tier (client → worker, or worker
/// → peer when pulling). Answered by `PageGetReply`. At most
/// `WireLimits.maxPagesPerRequest` keys, the most pages an answer carries.
///
/// Body: key count (u32), keys (32 bytes each).
public struct PageGet: WireBody {
    /// The keys, at most `WireLimits.maxPagesPerRequest`.
    public var keys: [PrefixKey]

    /// A request.
    public init(keys: [PrefixKey]) {
        self.keys = keys
    }

    /// Writes the body fields in the order documented above.
    public func encode(body: inout WireWriter, bulk: inout [[UInt8]]) {
        body.write(keys)
    }

    /// Reads the body fields in the order documented above, checking each before reading it.
    public init(body: inout WireReader, bulk: inout BulkFrameReader) throws(WireError) {
        keys = try body.readDigestArray("keys", limit: WireLimits.maxPagesPerRequest)
    }
}

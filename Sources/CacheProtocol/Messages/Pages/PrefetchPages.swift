/// Asks a worker to bring pages it holds in a lower tier (compressed RAM, disk, remote) back into its
/// hot pool ahead of an expected prefix hit. Answered by `PrefetchPagesReply`.
///
/// Body: key count (u32), keys (32 bytes each).
public struct PrefetchPages: WireBody {
    /// The keys, at most `WireLimits.maxKeysPerRequest`.
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
        keys = try body.readDigestArray("keys", limit: WireLimits.maxKeysPerRequest)
    }
}

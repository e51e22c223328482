/// Removes pages from the receiver's prefix cache (pages referenced by live sequences stay until
/// those close). Answered by `Ack`; unknown keys are not an error.
///
/// Body: key count (u32), keys (32 bytes each).
public struct PageRemove: WireBody {
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

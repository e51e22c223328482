/// Asks which keys the receiver's prefix cache holds, any tier. Answered by `PageContainsReply`.
///
/// Body: key count (u32), keys (32 bytes each).
public struct PageContains: WireBody {
    /// The keys, at most `WireLimits.maxKeysPerRequest`.
    public var keys: [PrefixKey]

    /// A request.
    public init(keys: [PrefixKey]) {
        self.keys = keys
    }

    public func encode(body: inout WireWriter, bulk: inout [[UInt8]]) {
        body.write(keys)
    }

    public init(body: inout WireReader, bulk: inout BulkFrameReader) throws(WireError) {
        keys = try body.readDigestArray("keys", limit: WireLimits.maxKeysPerRequest)
    }
}

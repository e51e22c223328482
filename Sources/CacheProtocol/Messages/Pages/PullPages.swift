/// Coordinator → worker: fetch these pages from the peer at `peerEndpoint` (with `PageGet`, pages
/// travel compressed, peer to peer) into the receiver's prefix cache, before the coordinator places
/// a sequence there or to give the pages their replicas. Answered by `PullPagesReply`.
///
/// Body: peer endpoint (string), key count (u32), keys (32 bytes each).
public struct PullPages: WireBody {
    /// The peer's ROUTER endpoint, as it registered it.
    public var peerEndpoint: String
    /// The keys, at most `WireLimits.maxKeysPerRequest`.
    public var keys: [PrefixKey]

    /// A pull request.
    public init(peerEndpoint: String, keys: [PrefixKey]) {
        self.peerEndpoint = peerEndpoint
        self.keys = keys
    }

    /// Writes the body fields in the order documented above.
    public func encode(body: inout WireWriter, bulk: inout [[UInt8]]) {
        body.write(peerEndpoint)
        body.write(keys)
    }

    /// Reads the body fields in the order documented above, checking each before reading it.
    public init(body: inout WireReader, bulk: inout BulkFrameReader) throws(WireError) {
        peerEndpoint = try body.readString("peer endpoint", maxBytes: WireLimits.maxEndpointBytes)
        keys = try body.readDigestArray("keys", limit: WireLimits.maxKeysPerRequest)
    }
}

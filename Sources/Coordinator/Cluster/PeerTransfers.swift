/// KV pages a worker received from other workers (prefix pulls, replicas, moved shards), as
/// running totals since it started: the coordinator adds them up into the bytes moved between
/// workers, raw and as they travelled.
public struct PeerTransfers: Sendable, Hashable {
    /// Pages received.
    public var pages: UInt64
    /// Their size decoded, as the page pool holds them.
    public var rawBytes: UInt64
    /// Their size on the wire (the page encoding: filtered and LZ4-compressed).
    public var encodedBytes: UInt64

    /// Totals; zero by default.
    public init(pages: UInt64 = 0, rawBytes: UInt64 = 0, encodedBytes: UInt64 = 0) {
        self.pages = pages
        self.rawBytes = rawBytes
        self.encodedBytes = encodedBytes
    }

    /// The sum of two totals.
    public static func + (lhs: PeerTransfers, rhs: PeerTransfers) -> PeerTransfers {
        PeerTransfers(
            pages: lhs.pages &+ rhs.pages,
            rawBytes: lhs.rawBytes &+ rhs.rawBytes,
            encodedBytes: lhs.encodedBytes &+ rhs.encodedBytes
        )
    }
}

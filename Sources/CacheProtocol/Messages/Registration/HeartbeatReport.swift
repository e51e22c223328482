/// Worker → coordinator (added in 1.1), every heartbeat interval, once a coordinator has answered
/// its registration with `RegisterWorkerAccepted`: a `Heartbeat` with the figures the coordinator
/// places and reports by. Answered as `Heartbeat` is: `Ack`, or `ErrorReply` `notRegistered`.
///
/// Body: the `Heartbeat` body (worker id u64, live sequences u32, free hot pages u64, cached prefix
/// pages u64, last event sent u64), then evictable hot pages (u64), pages received from peers
/// (u64), their bytes decoded (u64) and as they travelled (u64). The three transfer figures are
/// running totals since the worker started.
public struct HeartbeatReport: WireBody {
    /// The `Heartbeat` fields.
    public var heartbeat: Heartbeat
    /// Hot pages holding cached prefix pages that no sequence uses: the pool can take them back.
    public var evictablePages: UInt64
    /// KV pages the worker received from other workers (pulls, shard moves), since it started.
    public var peerPagesReceived: UInt64
    /// Their size decoded: what the KV occupies in the page pool.
    public var peerBytesReceivedRaw: UInt64
    /// Their size as they travelled (the page encoding, LZ4-compressed).
    public var peerBytesReceivedEncoded: UInt64

    /// A report.
    public init(
        heartbeat: Heartbeat,
        evictablePages: UInt64,
        peerPagesReceived: UInt64,
        peerBytesReceivedRaw: UInt64,
        peerBytesReceivedEncoded: UInt64
    ) {
        self.heartbeat = heartbeat
        self.evictablePages = evictablePages
        self.peerPagesReceived = peerPagesReceived
        self.peerBytesReceivedRaw = peerBytesReceivedRaw
        self.peerBytesReceivedEncoded = peerBytesReceivedEncoded
    }

    /// Writes the body fields in the order documented above.
    public func encode(body: inout WireWriter, bulk: inout [[UInt8]]) {
        heartbeat.encode(body: &body, bulk: &bulk)
        body.write(evictablePages)
        body.write(peerPagesReceived)
        body.write(peerBytesReceivedRaw)
        body.write(peerBytesReceivedEncoded)
    }

    /// Reads the body fields in the order documented above, checking each before reading it.
    public init(body: inout WireReader, bulk: inout BulkFrameReader) throws(WireError) {
        heartbeat = try Heartbeat(body: &body, bulk: &bulk)
        evictablePages = try body.readUInt64("evictable pages")
        peerPagesReceived = try body.readUInt64("peer pages received")
        peerBytesReceivedRaw = try body.readUInt64("peer bytes received raw")
        peerBytesReceivedEncoded = try body.readUInt64("peer bytes received encoded")
    }
}

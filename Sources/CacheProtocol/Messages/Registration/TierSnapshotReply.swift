/// Worker → coordinator (added in 1.1): the answer to a `SnapshotRequest` whose header says minor
/// version 1 or later — `SnapshotReply` with the tier each page is held in. A requester of minor
/// version 0 still gets `SnapshotReply`.
///
/// Body: worker id (u64), event sequence (u64), key count (u32), keys (32 bytes each), then one
/// tier (u8: 0 hot, 1 compressed RAM, 2 disk, 3 remote) per key, in key order (no count: the
/// keys' count).
public struct TierSnapshotReply: WireBody {
    /// The answering worker.
    public var workerID: UInt64
    /// The last event reflected in `keys`.
    public var eventSequence: UInt64
    /// Every key held, any tier, at most `WireLimits.maxKeysPerSnapshot`.
    public var keys: [PrefixKey]
    /// The tier of each key, as many as `keys`.
    public var tiers: [CacheTier]

    /// An answer; `tiers` must have one tier per key (`encode` writes `hot` for missing ones).
    public init(workerID: UInt64, eventSequence: UInt64, keys: [PrefixKey], tiers: [CacheTier]) {
        self.workerID = workerID
        self.eventSequence = eventSequence
        self.keys = keys
        self.tiers = tiers
    }

    /// Writes the body fields in the order documented above.
    public func encode(body: inout WireWriter, bulk: inout [[UInt8]]) {
        body.write(workerID)
        body.write(eventSequence)
        body.write(keys)
        for index in keys.indices { body.write(index < tiers.count ? tiers[index].rawValue : CacheTier.hot.rawValue) }
    }

    /// Reads the body fields in the order documented above, checking each before reading it.
    public init(body: inout WireReader, bulk: inout BulkFrameReader) throws(WireError) {
        workerID = try body.readUInt64("worker id")
        eventSequence = try body.readUInt64("event sequence")
        keys = try body.readDigestArray("keys", limit: WireLimits.maxKeysPerSnapshot)
        var tiers: [CacheTier] = []
        tiers.reserveCapacity(keys.count)
        for _ in keys.indices { tiers.append(try CacheTier.read("tier", from: &body)) }
        self.tiers = tiers
    }
}

/// Worker → coordinator (added in 1.1), over the registration connection, never answered: pages
/// the worker already holds moved to `tier` (demoted from the hot pool to its first lower tier, or
/// brought back hot). It shares the numbering of `CacheEvent`: one stream 1, 2, 3, … per worker
/// run, so a lost event of either type is seen as a gap. A worker sends it only to a coordinator
/// that accepted it with `RegisterWorkerAccepted`; to one of minor version 0 it sends a `CacheEvent`
/// `stored` with the same number and keys instead (the pages are in its cache, any tier).
///
/// Body: worker id (u64), event sequence (u64), tier (u8: 0 hot, 1 compressed RAM, 2 disk,
/// 3 remote), key count (u32), keys (32 bytes each).
public struct CacheTierEvent: WireBody {
    /// The sending worker.
    public var workerID: UInt64
    /// This event's number in the worker's stream (shared with `CacheEvent`).
    public var eventSequence: UInt64
    /// Where the pages are now.
    public var tier: CacheTier
    /// The keys, at most `WireLimits.maxKeysPerRequest`.
    public var keys: [PrefixKey]

    /// An event.
    public init(workerID: UInt64, eventSequence: UInt64, tier: CacheTier, keys: [PrefixKey]) {
        self.workerID = workerID
        self.eventSequence = eventSequence
        self.tier = tier
        self.keys = keys
    }

    /// Writes the body fields in the order documented above.
    public func encode(body: inout WireWriter, bulk: inout [[UInt8]]) {
        body.write(workerID)
        body.write(eventSequence)
        body.write(tier.rawValue)
        body.write(keys)
    }

    /// Reads the body fields in the order documented above, checking each before reading it.
    public init(body: inout WireReader, bulk: inout BulkFrameReader) throws(WireError) {
        workerID = try body.readUInt64("worker id")
        eventSequence = try body.readUInt64("event sequence")
        tier = try CacheTier.read("tier", from: &body)
        keys = try body.readDigestArray("keys", limit: WireLimits.maxKeysPerRequest)
    }
}

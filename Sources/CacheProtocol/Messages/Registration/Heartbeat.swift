/// Worker → coordinator, every heartbeat interval; answered by `Ack`, or by `ErrorReply`
/// `notRegistered` when the coordinator does not know the worker (it restarted), upon which the
/// worker registers again.
///
/// Body: worker id (u64), live sequences (u32), free hot pages (u64), cached prefix pages (u64),
/// sequence number of the last cache event sent (u64).
public struct Heartbeat: WireBody {
    /// The sending worker.
    public var workerID: UInt64
    /// Open sequences (shards) on the worker.
    public var liveSequences: UInt32
    /// Hot pages not in use by a sequence or the prefix cache.
    public var freePages: UInt64
    /// Pages in the worker's prefix cache, all tiers.
    public var cachedPages: UInt64
    /// `eventSequence` of the last `CacheEvent` the worker sent (0: none yet), so the coordinator
    /// notices lost events even when no new event arrives.
    public var lastEventSequence: UInt64

    /// A heartbeat.
    public init(
        workerID: UInt64,
        liveSequences: UInt32,
        freePages: UInt64,
        cachedPages: UInt64,
        lastEventSequence: UInt64
    ) {
        self.workerID = workerID
        self.liveSequences = liveSequences
        self.freePages = freePages
        self.cachedPages = cachedPages
        self.lastEventSequence = lastEventSequence
    }

    /// Writes the body fields in the order documented above.
    public func encode(body: inout WireWriter, bulk: inout [[UInt8]]) {
        body.write(workerID)
        body.write(liveSequences)
        body.write(freePages)
        body.write(cachedPages)
        body.write(lastEventSequence)
    }

    /// Reads the body fields in the order documented above, checking each before reading it.
    public init(body: inout WireReader, bulk: inout BulkFrameReader) throws(WireError) {
        workerID = try body.readUInt64("worker id")
        liveSequences = try body.readUInt32("live sequences")
        freePages = try body.readUInt64("free pages")
        cachedPages = try body.readUInt64("cached pages")
        lastEventSequence = try body.readUInt64("last event sequence")
    }
}

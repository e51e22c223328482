/// Answer to `SnapshotRequest`: the worker's whole prefix cache as of event `eventSequence`; the
/// coordinator replaces what it knew of the worker and applies later events on top.
///
/// Body: worker id (u64), event sequence (u64), key count (u32), keys (32 bytes each).
public struct SnapshotReply: WireBody {
    /// The answering worker.
    public var workerID: UInt64
    /// The last event reflected in `keys`.
    public var eventSequence: UInt64
    /// Every key held, any tier, at most `WireLimits.maxKeysPerSnapshot`.
    public var keys: [PrefixKey]

    /// An answer.
    public init(workerID: UInt64, eventSequence: UInt64, keys: [PrefixKey]) {
        self.workerID = workerID
        self.eventSequence = eventSequence
        self.keys = keys
    }

    /// Writes the body fields in the order documented above.
    public func encode(body: inout WireWriter, bulk: inout [[UInt8]]) {
        body.write(workerID)
        body.write(eventSequence)
        body.write(keys)
    }

    /// Reads the body fields in the order documented above, checking each before reading it.
    public init(body: inout WireReader, bulk: inout BulkFrameReader) throws(WireError) {
        workerID = try body.readUInt64("worker id")
        eventSequence = try body.readUInt64("event sequence")
        keys = try body.readDigestArray("keys", limit: WireLimits.maxKeysPerSnapshot)
    }
}

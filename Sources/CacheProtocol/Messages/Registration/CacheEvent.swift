/// Worker → coordinator over the worker's registration connection, never answered: pages entered
/// or left the worker's prefix cache. `eventSequence` counts 1, 2, 3, … per worker run; a
/// coordinator that sees a gap (or a heartbeat's `lastEventSequence` ahead of the last event it
/// applied) asks for a `SnapshotRequest`.
///
/// Body: worker id (u64), event sequence (u64), kind (u8: 0 stored, 1 removed), key count (u32),
/// keys (32 bytes each).
public struct CacheEvent: WireBody {
    /// What happened to the keys.
    public enum Kind: UInt8, Sendable, Hashable, CaseIterable {
        /// The pages are now in the prefix cache (any tier). Code 0.
        case stored = 0
        /// The pages left the worker entirely. Code 1.
        case removed = 1
    }

    /// The sending worker.
    public var workerID: UInt64
    /// This event's number in the worker's stream, starting at 1.
    public var eventSequence: UInt64
    /// Stored or removed.
    public var kind: Kind
    /// The keys, at most `WireLimits.maxKeysPerRequest`.
    public var keys: [PrefixKey]

    /// An event.
    public init(workerID: UInt64, eventSequence: UInt64, kind: Kind, keys: [PrefixKey]) {
        self.workerID = workerID
        self.eventSequence = eventSequence
        self.kind = kind
        self.keys = keys
    }

    /// Writes the body fields in the order documented above.
    public func encode(body: inout WireWriter, bulk: inout [[UInt8]]) {
        body.write(workerID)
        body.write(eventSequence)
        body.write(kind.rawValue)
        body.write(keys)
    }

    /// Reads the body fields in the order documented above, checking each before reading it.
    public init(body: inout WireReader, bulk: inout BulkFrameReader) throws(WireError) {
        workerID = try body.readUInt64("worker id")
        eventSequence = try body.readUInt64("event sequence")
        let code = try body.readUInt8("event kind")
        guard let kind = Kind(rawValue: code) else { throw .invalidValue(field: "event kind", value: UInt64(code)) }
        self.kind = kind
        keys = try body.readDigestArray("keys", limit: WireLimits.maxKeysPerRequest)
    }
}

/// Answer to `StatsRequest`: named counters, in the answerer's order.
///
/// Body: counter count (u32), per counter name (string) and value (u64).
public struct StatsReply: WireBody {
    /// One named counter.
    public struct Counter: Sendable, Hashable {
        /// Name, for example `prefix.hits`; at most `WireLimits.maxCounterNameBytes` bytes.
        public var name: String
        /// Value.
        public var value: UInt64

        /// A counter.
        public init(name: String, value: UInt64) {
            self.name = name
            self.value = value
        }
    }

    /// The counters, at most `WireLimits.maxCounters`.
    public var counters: [Counter]

    /// An answer.
    public init(counters: [Counter]) {
        self.counters = counters
    }

    /// Writes the body fields in the order documented above.
    public func encode(body: inout WireWriter, bulk: inout [[UInt8]]) {
        body.writeCount(counters.count)
        for counter in counters {
            body.write(counter.name)
            body.write(counter.value)
        }
    }

    /// Reads the body fields in the order documented above, checking each before reading it.
    public init(body: inout WireReader, bulk: inout BulkFrameReader) throws(WireError) {
        // Each counter takes at least 12 bytes (empty name, value).
        let count = try body.readCount("counters", limit: WireLimits.maxCounters, elementBytes: 12)
        var counters = [Counter]()
        counters.reserveCapacity(count)
        for _ in 0..<count {
            let name = try body.readString("counter name", maxBytes: WireLimits.maxCounterNameBytes)
            counters.append(Counter(name: name, value: try body.readUInt64("counter value")))
        }
        self.counters = counters
    }
}

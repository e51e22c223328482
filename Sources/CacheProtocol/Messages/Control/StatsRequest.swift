/// Asks a worker or the coordinator for its counters. Answered by `StatsReply`. Empty body.
public struct StatsRequest: WireBody {
    /// A request.
    public init() {}

    /// Writes the body fields in the order documented above.
    public func encode(body: inout WireWriter, bulk: inout [[UInt8]]) {}

    /// Reads the body fields in the order documented above, checking each before reading it.
    public init(body: inout WireReader, bulk: inout BulkFrameReader) throws(WireError) {}
}

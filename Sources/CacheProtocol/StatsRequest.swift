/// Asks a worker or the coordinator for its counters. Answered by `StatsReply`. Empty body.
public struct StatsRequest: WireBody {
    /// A request.
    public init() {}

    public func encode(body: inout WireWriter, bulk: inout [[UInt8]]) {}

    public init(body: inout WireReader, bulk: inout BulkFrameReader) throws(WireError) {}
}

/// Coordinator → worker, after each registration it accepts: asks for every sequence shard the
/// worker holds open, so that a restarted coordinator can rebuild its sequence table and any
/// coordinator can close shards it no longer knows. Answered by `ShardListReply`. Empty body.
/// Added in protocol version 1.1.
public struct ShardListRequest: WireBody {
    /// A request.
    public init() {}

    /// Writes the body fields in the order documented above.
    public func encode(body: inout WireWriter, bulk: inout [[UInt8]]) {}

    /// Reads the body fields in the order documented above, checking each before reading it.
    public init(body: inout WireReader, bulk: inout BulkFrameReader) throws(WireError) {}
}

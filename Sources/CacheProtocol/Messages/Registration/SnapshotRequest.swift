/// Coordinator → worker, after a gap in the worker's events or on the coordinator's restart: asks
/// for every key the worker's prefix cache holds. Answered by `SnapshotReply`. Empty body.
public struct SnapshotRequest: WireBody {
    /// A request.
    public init() {}

    /// Writes the body fields in the order documented above.
    public func encode(body: inout WireWriter, bulk: inout [[UInt8]]) {}

    /// Reads the body fields in the order documented above, checking each before reading it.
    public init(body: inout WireReader, bulk: inout BulkFrameReader) throws(WireError) {}
}

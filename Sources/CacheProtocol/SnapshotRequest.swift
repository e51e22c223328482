/// Coordinator → worker, after a gap in the worker's events or on the coordinator's restart: asks
/// for every key the worker's prefix cache holds. Answered by `SnapshotReply`. Empty body.
public struct SnapshotRequest: WireBody {
    /// A request.
    public init() {}

    public func encode(body: inout WireWriter, bulk: inout [[UInt8]]) {}

    public init(body: inout WireReader, bulk: inout BulkFrameReader) throws(WireError) {}
}

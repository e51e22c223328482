/// The answer to a request that succeeded and returns nothing (heartbeat, truncate, close, page
/// put, page remove, drain). Empty body.
public struct Ack: WireBody {
    /// An acknowledgement.
    public init() {}

    public func encode(body: inout WireWriter, bulk: inout [[UInt8]]) {}

    public init(body: inout WireReader, bulk: inout BulkFrameReader) throws(WireError) {}
}

/// The answer to a request that succeeded and returns nothing (heartbeat, deregistration, truncate,
/// close, page put, page remove, drain). Empty body.
public struct Ack: WireBody {
    /// An acknowledgement.
    public init() {}

    /// Writes the body fields in the order documented above.
    public func encode(body: inout WireWriter, bulk: inout [[UInt8]]) {}

    /// Reads the body fields in the order documented above, checking each before reading it.
    public init(body: inout WireReader, bulk: inout BulkFrameReader) throws(WireError) {}
}

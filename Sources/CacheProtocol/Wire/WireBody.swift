/// A message body: the fields it writes to frame 0 after the header, and the bulk frames it
/// appends after frame 0. `Message` maps each body type to its `MessageType` code.
public protocol WireBody: Sendable, Hashable {
    /// Writes the body's fields to `body` and appends its bulk frames to `bulk`, in the order the
    /// decoder takes them.
    func encode(body: inout WireWriter, bulk: inout [[UInt8]])
    /// Reads the fields from `body` and takes bulk frames from `bulk`, checking every length, count
    /// and limit before reading. Leftover body bytes or frames are checked by the caller.
    init(body: inout WireReader, bulk: inout BulkFrameReader) throws(WireError)
}

/// Ends a sequence and frees its pages. With `commit`, its full pages first enter the holders'
/// prefix caches (which then send `CacheEvent`s). Client → coordinator → every holder. Answered by `Ack`.
///
/// Body: sequence id (u64), commit (u8 0/1).
public struct CloseSequence: WireBody {
    /// The sequence.
    public var sequenceID: UInt64
    /// Whether full pages are kept in the prefix cache.
    public var commit: Bool

    /// A close.
    public init(sequenceID: UInt64, commit: Bool) {
        self.sequenceID = sequenceID
        self.commit = commit
    }

    /// Writes the body fields in the order documented above.
    public func encode(body: inout WireWriter, bulk: inout [[UInt8]]) {
        body.write(sequenceID)
        body.write(commit)
    }

    /// Reads the body fields in the order documented above, checking each before reading it.
    public init(body: inout WireReader, bulk: inout BulkFrameReader) throws(WireError) {
        sequenceID = try body.readUInt64("sequence id")
        commit = try body.readBool("commit")
    }
}

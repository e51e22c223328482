/// Operator → coordinator, then coordinator → that worker: the worker takes no new sequences, its
/// prefix pages are moved to other workers, and it leaves once its sequences close. Answered by `Ack`
/// when draining has started. The coordinator first hands the worker's open shards over to other
/// workers (`AdoptShard`) and has its cached pages pulled, then sends the worker its `Drain`.
///
/// Body: worker id (u64).
public struct Drain: WireBody {
    /// The worker to drain.
    public var workerID: UInt64

    /// A drain request.
    public init(workerID: UInt64) {
        self.workerID = workerID
    }

    /// Writes the body fields in the order documented above.
    public func encode(body: inout WireWriter, bulk: inout [[UInt8]]) {
        body.write(workerID)
    }

    /// Reads the body fields in the order documented above, checking each before reading it.
    public init(body: inout WireReader, bulk: inout BulkFrameReader) throws(WireError) {
        workerID = try body.readUInt64("worker id")
    }
}

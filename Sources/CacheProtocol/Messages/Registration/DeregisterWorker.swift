/// Worker → coordinator, on the registration connection, when the worker shuts down: it has
/// stopped taking requests, answered those it had taken and flushed its tiers, and is about to
/// exit. The coordinator stops routing to it, drops its keys from the prefix index and fails its
/// remaining sequences with `unavailable`. Answered by `Ack` (or `ErrorReply` `notRegistered` when
/// the coordinator does not know the worker).
///
/// Body: worker id (u64).
public struct DeregisterWorker: WireBody {
    /// The worker that leaves.
    public var workerID: UInt64

    /// A deregistration of `workerID`.
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

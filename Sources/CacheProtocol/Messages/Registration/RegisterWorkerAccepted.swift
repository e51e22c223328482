/// Coordinator → worker (added in 1.1): the answer to a `RegisterWorker` sent with minor version 1
/// or later that the coordinator accepts. It carries the cluster's model spec, as
/// `RegisterWorkerReply.accepted` does, and the coordinator's heartbeat terms: the worker then
/// heartbeats every `heartbeatMilliseconds` (with `HeartbeatReport`), and is declared dead after
/// `deadAfterHeartbeats` intervals without one. A refusal is still `RegisterWorkerReply.refused`;
/// a worker of minor version 0 still gets `RegisterWorkerReply.accepted`.
///
/// Body: the model spec in its canonical encoding (`ModelSpec.encode(into:)`), heartbeat interval
/// in milliseconds (u32, 1…3,600,000), heartbeats missed before death (u32, ≥ 1).
public struct RegisterWorkerAccepted: WireBody {
    /// The longest heartbeat interval a coordinator may ask for: one hour.
    public static let maximumHeartbeatMilliseconds: UInt32 = 3_600_000

    /// The model the cluster serves.
    public var spec: ModelSpec
    /// Milliseconds between two heartbeats.
    public var heartbeatMilliseconds: UInt32
    /// Intervals without a heartbeat after which the coordinator declares the worker dead.
    public var deadAfterHeartbeats: UInt32

    /// An acceptance.
    public init(spec: ModelSpec, heartbeatMilliseconds: UInt32, deadAfterHeartbeats: UInt32) {
        self.spec = spec
        self.heartbeatMilliseconds = heartbeatMilliseconds
        self.deadAfterHeartbeats = deadAfterHeartbeats
    }

    /// Writes the body fields in the order documented above.
    public func encode(body: inout WireWriter, bulk: inout [[UInt8]]) {
        spec.encode(into: &body)
        body.write(heartbeatMilliseconds)
        body.write(deadAfterHeartbeats)
    }

    /// Reads the body fields in the order documented above, checking each before reading it.
    public init(body: inout WireReader, bulk: inout BulkFrameReader) throws(WireError) {
        spec = try ModelSpec(reading: &body)
        heartbeatMilliseconds = try body.readUInt32("heartbeat interval")
        guard (1...Self.maximumHeartbeatMilliseconds).contains(heartbeatMilliseconds) else {
            throw .invalidValue(field: "heartbeat interval", value: UInt64(heartbeatMilliseconds))
        }
        deadAfterHeartbeats = try body.readUInt32("dead after")
        guard deadAfterHeartbeats >= 1 else { throw .invalidValue(field: "dead after", value: 0) }
    }
}

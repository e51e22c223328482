/// Worker → coordinator, first message on the worker's connection and again after the coordinator
/// answers a heartbeat with `notRegistered`. Answered by `RegisterWorkerReply`.
///
/// Body: worker id (u64), listen endpoint (string), role (u8), hot page capacity (u64),
/// lower-tier capacity in bytes (u64), fingerprint of the worker's model spec (32 bytes).
public struct RegisterWorker: WireBody {
    /// Identifies the worker across restarts; unique in the cluster.
    public var workerID: UInt64
    /// Where the worker's ROUTER listens for coordinator requests and peer transfers, e.g. `tcp://10.0.0.5:7100`.
    public var endpoint: String
    /// What the worker does.
    public var role: WorkerRole
    /// Pages the worker's hot (in-memory, uncompressed) pool holds.
    public var hotPageCapacity: UInt64
    /// Bytes of its lower tiers (compressed RAM and disk) for prefix pages.
    public var storeBytes: UInt64
    /// Fingerprint of the model spec the worker was started with; the coordinator refuses a mismatch.
    public var modelFingerprint: ModelFingerprint

    /// A registration.
    public init(
        workerID: UInt64,
        endpoint: String,
        role: WorkerRole,
        hotPageCapacity: UInt64,
        storeBytes: UInt64,
        modelFingerprint: ModelFingerprint
    ) {
        self.workerID = workerID
        self.endpoint = endpoint
        self.role = role
        self.hotPageCapacity = hotPageCapacity
        self.storeBytes = storeBytes
        self.modelFingerprint = modelFingerprint
    }

    /// Writes the body fields in the order documented above.
    public func encode(body: inout WireWriter, bulk: inout [[UInt8]]) {
        body.write(workerID)
        body.write(endpoint)
        body.write(role.rawValue)
        body.write(hotPageCapacity)
        body.write(storeBytes)
        body.write(modelFingerprint)
    }

    /// Reads the body fields in the order documented above, checking each before reading it.
    public init(body: inout WireReader, bulk: inout BulkFrameReader) throws(WireError) {
        workerID = try body.readUInt64("worker id")
        endpoint = try body.readString("endpoint", maxBytes: WireLimits.maxEndpointBytes)
        let code = try body.readUInt8("role")
        guard let role = WorkerRole(rawValue: code) else { throw .invalidValue(field: "role", value: UInt64(code)) }
        self.role = role
        hotPageCapacity = try body.readUInt64("hot page capacity")
        storeBytes = try body.readUInt64("store bytes")
        modelFingerprint = try body.readDigest("model fingerprint")
    }
}

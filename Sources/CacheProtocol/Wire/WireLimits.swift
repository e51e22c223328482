/// The largest sizes and counts the protocol accepts. Decoders check every claim against these
/// before reading or allocating, and refuse a message that exceeds one with
/// `WireError.limitExceeded` (the receiver answers a request with an `ErrorReply` of code
/// `badRequest` and drops anything else); nothing past a limit is ever partly processed.
public enum WireLimits {
    /// Largest frame 0 body (everything after the header), in bytes: 64 MiB.
    public static let maxBodyBytes = 64 << 20
    /// Largest bulk frame (one tensor or one encoded page), in bytes: 256 MiB.
    public static let maxBulkFrameBytes = 256 << 20
    /// Largest whole message, frame 0 and every bulk frame together, in bytes: 512 MiB.
    public static let maxMessageBytes = 512 << 20
    /// Most bulk frames after frame 0.
    public static let maxBulkFrames = 4096
    /// Most token ids in one request (an open's prompt), and most query or prefill tokens in one request.
    public static let maxTokensPerRequest = 1 << 20
    /// Most pages carried in one page put or page get answer.
    public static let maxPagesPerRequest = 1024
    /// Most prefix keys in one request (get, contains, remove, pull) or one event.
    public static let maxKeysPerRequest = 1 << 16
    /// Most prefix keys in one snapshot answer (64 MiB of keys).
    public static let maxKeysPerSnapshot = 1 << 21
    /// Most per-layer lengths in one shard export (added in 1.1): the model spec's largest layer count.
    public static let maxLayers = 1024
    /// Most shards in one shard list answer (28 MiB of shards with empty namespaces).
    public static let maxShardsPerList = 1 << 20
    /// Most sequences in one batched decode.
    public static let maxDecodeEntries = 4096
    /// Most dimensions of a tensor.
    public static let maxTensorRank = 4
    /// Longest tenant namespace, in UTF-8 bytes.
    public static let maxNamespaceBytes = 256
    /// Longest endpoint string (`tcp://host:port`), in bytes.
    public static let maxEndpointBytes = 1024
    /// Longest free-text reason or error message, in UTF-8 bytes.
    public static let maxMessageTextBytes = 4096
    /// Most counters in one stats answer.
    public static let maxCounters = 4096
    /// Longest counter name, in bytes.
    public static let maxCounterNameBytes = 128
}

import CacheProtocol
import Logging

/// Everything `mfa-worker` is told on its command line, checked: the endpoints, the model, the
/// memory of each tier, the role, the peers, the keys and the logging.
public struct WorkerConfiguration: Sendable, Equatable {
    /// The coordinator's worker endpoint; nil for a standalone worker.
    var coordinator: String?
    /// The endpoint the worker's ROUTER binds (`tcp://127.0.0.1:*` picks a free port).
    var listen: String
    /// The model whose pages and attention the worker serves.
    var model: ModelSpec
    /// Bytes of the hot page pool.
    var memory: ByteSize
    /// Bytes of the compressed in-memory tier, if any.
    var compressedMemory: ByteSize?
    /// Directory of the disk tier, if any.
    var dataDirectory: String?
    /// Bytes of the disk tier (with `dataDirectory`).
    var disk: ByteSize?
    /// Compute (sequences and pages) or store (pages only).
    var role: WorkerRole
    /// Remote peers or stores that take pages evicted from the local tiers.
    var remotes: [String]
    /// Kernel threads; nil for every core.
    var threads: Int?

    /// Where a page evicted from the hot pool goes first (compressed RAM, then disk, then remote,
    /// whichever is configured first), as the worker reports it to the coordinator; `hot` when
    /// there is no lower tier (an evicted page leaves the worker).
    var demotionTier: CacheTier {
        if compressedMemory != nil { return .compressedMemory }
        if dataDirectory != nil && disk != nil { return .disk }
        return remotes.isEmpty ? .hot : .remote
    }
    /// Key-pair file of this worker (CURVE), if encryption is on.
    var curveSecret: String?
    /// Public-key file of the coordinator (CURVE).
    var coordinatorKey: String?
    /// Log level.
    public var logLevel: Logger.Level
    /// The worker's id in the cluster.
    var workerID: UInt64
    /// Time between two registration attempts, and between two heartbeats to a coordinator that
    /// gives no interval of its own (minor version 0); a coordinator of 1.1 or later gives its
    /// interval at registration and the worker heartbeats at that one.
    var heartbeatInterval: Duration
    /// A test hook: the numbers of the cache events the coordinator link drops instead of sending
    /// (`MFA_TEST_DROP_CACHE_EVENTS`), so that the coordinator's detection of a lost event and its
    /// resync can be tested through real processes. Empty in normal use.
    var droppedCacheEvents: Set<UInt64> = []

    /// The environment variable `mfa-worker` reads `droppedCacheEvents` from, once at start: event
    /// numbers separated by commas, e.g. `1,5`.
    public static let dropCacheEventsVariable = "MFA_TEST_DROP_CACHE_EVENTS"

    /// The default time between heartbeats, in milliseconds.
    public static let defaultHeartbeatMilliseconds = 1000
    /// The longest accepted time between heartbeats, in milliseconds (one hour).
    static let maximumHeartbeatMilliseconds = 3_600_000

    /// The default hot pool: 1 GiB.
    static let defaultMemory = ByteSize(bytes: 1 << 30)

    /// Checks and converts the command line's values; `heartbeatMilliseconds` must lie in
    /// 1…3,600,000. `droppedCacheEvents` is the value of `dropCacheEventsVariable` (nil when it is
    /// not set): positive event numbers separated by commas.
    public init(
        coordinator: String?,
        listen: String,
        model: String?,
        memory: String?,
        compressedMemory: String?,
        dataDirectory: String?,
        disk: String?,
        role: String,
        remotes: [String],
        threads: Int?,
        curveSecret: String?,
        coordinatorKey: String?,
        logLevel: String,
        workerID: UInt64,
        heartbeatMilliseconds: Int = WorkerConfiguration.defaultHeartbeatMilliseconds,
        droppedCacheEvents: String? = nil
    ) throws(ConfigurationError) {
        guard !listen.isEmpty else { throw .invalidOption("--listen needs an endpoint") }
        guard let model else { throw .invalidOption("--model is required: the worker's pages and keys depend on it") }
        do {
            self.model = try ModelSpec(parsing: model)
        } catch {
            throw .invalidModel(error.description)
        }
        self.memory =
            try memory.map { text throws(ConfigurationError) in try ByteSize(parsing: text) } ?? Self.defaultMemory
        guard self.memory.bytes > 0 else { throw .invalidOption("--memory must be positive") }
        self.compressedMemory = try compressedMemory.map { text throws(ConfigurationError) in
            try ByteSize(parsing: text)
        }
        self.disk = try disk.map { text throws(ConfigurationError) in try ByteSize(parsing: text) }
        guard (dataDirectory == nil) == (disk == nil) else {
            throw .invalidOption("--data-dir and --disk go together")
        }
        guard let role = WorkerRole.allCases.first(where: { "\($0)" == role }) else {
            throw .invalidOption("--role must be compute or store, not `\(role)`")
        }
        if let threads, threads < 1 { throw .invalidOption("--threads must be at least 1") }
        guard (curveSecret == nil) == (coordinatorKey == nil) || coordinator == nil else {
            throw .invalidOption("--curve-secret and --coordinator-key go together")
        }
        guard (1...Self.maximumHeartbeatMilliseconds).contains(heartbeatMilliseconds) else {
            throw .invalidOption(
                "--heartbeat must be 1 to \(Self.maximumHeartbeatMilliseconds) milliseconds, not \(heartbeatMilliseconds)"
            )
        }
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw .invalidOption(
                "--log-level must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        self.coordinator = coordinator
        self.listen = listen
        self.dataDirectory = dataDirectory
        self.role = role
        self.remotes = remotes
        self.threads = threads
        self.curveSecret = curveSecret
        self.coordinatorKey = coordinatorKey
        self.logLevel = level
        self.workerID = workerID
        self.heartbeatInterval = .milliseconds(heartbeatMilliseconds)
        if let droppedCacheEvents {
            self.droppedCacheEvents = try Self.eventNumbers(droppedCacheEvents)
        }
    }

    /// The event numbers of `text` (positive integers separated by commas, blanks allowed).
    static func eventNumbers(_ text: String) throws(ConfigurationError) -> Set<UInt64> {
        var numbers = Set<UInt64>()
        for field in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let number = UInt64(String(field.filter { !$0.isWhitespace })), number > 0 else {
                throw .invalidOption(
                    "\(dropCacheEventsVariable) must list positive event numbers separated by commas, not `\(text)`"
                )
            }
            numbers.insert(number)
        }
        return numbers
    }
}

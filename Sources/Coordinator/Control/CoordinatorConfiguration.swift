import CacheProtocol

/// Everything that sets how the coordinator's state machine behaves. Every constant's value and
/// reason is in docs/COORDINATOR.md.
public struct CoordinatorConfiguration: Sendable, Hashable {
    /// The cluster's model: a worker of another model is refused; prefix keys use its fingerprint
    /// and page size.
    public var spec: ModelSpec
    /// How often workers heartbeat: handed to workers of protocol 1.1 at registration
    /// (`RegisterWorkerAccepted`); a 1.0 worker must be started with the same interval.
    public var heartbeatInterval: Duration = .seconds(1)
    /// Heartbeat intervals without a heartbeat after which a worker is dead.
    public var deadAfterHeartbeats = 3
    /// How often the shell should send `tick`: deaths are found and deadlines enforced at most
    /// this late.
    public var tickInterval: Duration = .milliseconds(100)
    /// Every client request is answered within this time of its arrival (plus at most one
    /// `tickInterval`): by then, whatever is missing is answered `unavailable`.
    public var answerBound: Duration = .seconds(30)
    /// A `PullPages` unanswered after this is abandoned, and the sequence opened without it.
    public var pullTimeout: Duration = .seconds(5)
    /// A `SnapshotRequest` unanswered after this is asked again (at the next heartbeat).
    public var snapshotTimeout: Duration = .seconds(30)
    /// How long the coordinator waits for the answers to the `CloseSequence`s it sends to clean up
    /// the surviving shards of a failed sequence before forgetting them.
    public var cleanupTimeout: Duration = .seconds(10)
    /// A `ShardListRequest` unanswered after this is given up: the shards of that worker stay
    /// unknown (outside the recovery window they are never closed, inside it they are not
    /// recovered).
    public var shardListTimeout: Duration = .seconds(30)
    /// How long after its start the coordinator holds requests for sequences it does not know
    /// while workers register again and report their shards (see `recoveryWindowLength`). `nil`:
    /// `silenceLimit + heartbeatInterval`; `.zero`: no window, every unknown sequence is
    /// answered `unknownSequence` at once and every reported shard it does not know is closed.
    public var recoveryWindow: Duration?
    /// Placement rule.
    public var placement: PlacementPolicy = .prefix
    /// Constants of the `prefix` rule.
    public var weights = PlacementWeights()
    /// Most workers the registry takes (at most `HolderCell.maxSlot + 1`, 65,536).
    public var maxWorkers = 4096
    /// Workers tried for one open when the chosen one answers `capacity` or `unavailable`.
    public var openAttempts = 3
    /// Shards of a draining worker moved at once; the others keep serving until their turn.
    public var drainMovesInFlight = 4
    /// An `AdoptShard` unanswered after this is given up (the target is told to close what it may
    /// have adopted) and another target is tried.
    public var drainMoveTimeout: Duration = .seconds(20)
    /// Keys of the draining worker's cached pages in one `PullPages` to the worker taking them.
    public var drainPullBatchKeys = 4096
    /// A drain's `PullPages` unanswered after this is given up, and the drain goes on.
    public var drainPullTimeout: Duration = .seconds(30)
    /// The first sequence id given out. A restarted coordinator should start past any id still
    /// open on a worker (for example at its start time in milliseconds shifted left 20 bits).
    public var firstSequenceID: UInt64 = 1
    /// Secret key of the prefix index's hashing (see `IndexKey.hash(seed:)`); the shell draws it
    /// at random.
    public var indexSeed: UInt64 = 0x6D66_6163_696E_6478
    /// Bytes the cache of computed prefix keys may use (`PrefixKeyCache`: 144 bytes per page of 16
    /// tokens plus its buckets); 0 computes every key with SHA-256. Its hashing is keyed by
    /// `indexSeed`.
    public var prefixKeyCacheBytes = 256 << 20
    /// Keys the index makes room for at the start.
    public var expectedIndexKeys = 1024
    /// Keys of events kept per worker while its snapshot is awaited.
    public var snapshotBufferKeys = 1 << 20
    /// Failed sequences remembered, so that they are answered `unavailable`, not `unknownSequence`.
    public var failedSequenceMemory = 65_536
    /// Workers that should hold each prefix page (at least 1): when a page has fewer holders, live
    /// compute workers pull it from a holder (docs/COORDINATOR.md, Replication). 1 replicates
    /// nothing.
    public var replicas = 1
    /// Keys of the re-replication backlog (pages whose holder's run ended, or that a snapshot
    /// brought) looked at per tick.
    public var replicationKeysPerTick = 4096
    /// Keys being pulled for replication above which the backlog waits for pulls to finish.
    public var replicationKeysInFlight = 16_384
    /// Keys the re-replication backlog holds at most (32 bytes each); more are dropped and counted.
    public var replicationBacklogKeys = 1 << 20

    /// A configuration for `spec` with every other value at its default.
    public init(spec: ModelSpec) {
        self.spec = spec
    }

    /// How long a worker may stay silent: `deadAfterHeartbeats` (at least 1) heartbeat intervals.
    public var silenceLimit: Duration { heartbeatInterval * max(1, deadAfterHeartbeats) }

    /// `heartbeatInterval` in whole milliseconds as `RegisterWorkerAccepted` hands it to workers,
    /// within the range the message allows.
    var heartbeatMillisecondsOnTheWire: UInt32 {
        let (seconds, attoseconds) = heartbeatInterval.components
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return UInt32(clamping: min(max(1, milliseconds), Int64(RegisterWorkerAccepted.maximumHeartbeatMilliseconds)))
    }

    /// The recovery window in effect: `recoveryWindow`, by default `silenceLimit + heartbeatInterval`.
    /// A worker that is alive heartbeats at least once a `silenceLimit` (else the coordinator's own
    /// rule declares it dead); the new coordinator answers that heartbeat `notRegistered` and the
    /// worker registers at once. One more interval covers the registration's round trip.
    public var recoveryWindowLength: Duration {
        max(.zero, recoveryWindow ?? silenceLimit + heartbeatInterval)
    }

    /// How long a replication pull of `keys` pages may take: `pullTimeout` for each batch of
    /// `WireLimits.maxPagesPerRequest` pages the target fetches from its peer (each such fetch
    /// waits at most that long on the worker).
    func replicationPullTimeout(keys: Int) -> Duration {
        pullTimeout * max(1, (keys + WireLimits.maxPagesPerRequest - 1) / WireLimits.maxPagesPerRequest)
    }
}

/// Running totals of what the coordinator did, reported by `StatsRequest`.
struct CoordinatorCounters: Sendable, Hashable {
    /// Client requests received.
    var clientRequests: UInt64 = 0
    /// Client requests answered with an `ErrorReply`.
    var clientErrors: UInt64 = 0
    /// Sequences placed (each open attempt that found a worker).
    var placements: UInt64 = 0
    /// Opens answered `capacity` because no worker had room.
    var placementsRefused: UInt64 = 0
    /// New shards a spill opened (a sequence continued on another worker).
    var spills: UInt64 = 0
    /// Spills given up because no worker could take the new shard.
    var spillsRefused: UInt64 = 0
    /// `PullPages` requests sent before a placement or for a drain.
    var pulls: UInt64 = 0
    /// `PullPages` requests sent to replicate pages.
    var replicationPulls: UInt64 = 0
    /// Pages replication pulls brought (as their targets answered).
    var replicationPages: UInt64 = 0
    /// Pages replication pulls did not bring (refused, lost, timed out, or answered not pulled).
    var replicationFailed: UInt64 = 0
    /// Keys left out of the re-replication backlog because it was full.
    var replicationDropped: UInt64 = 0
    /// Prompt tokens of opened sequences.
    var promptTokens: UInt64 = 0
    /// Of those, tokens already cached where they were opened.
    var cachedTokens: UInt64 = 0
    /// `CacheEvent`s applied to the index.
    var eventsApplied: UInt64 = 0
    /// `CacheEvent`s ignored as already reflected.
    var eventsStale: UInt64 = 0
    /// Gaps found in event streams.
    var eventGaps: UInt64 = 0
    /// Snapshots asked for.
    var snapshotsRequested: UInt64 = 0
    /// Of those, snapshots asked because the index found it could not be sure it was exact (a gap
    /// in the event numbers, a heartbeat naming another last event, buffered events that do not
    /// continue a snapshot); registrations and retries are not counted.
    var resyncs: UInt64 = 0
    /// Snapshots applied.
    var snapshotsApplied: UInt64 = 0
    /// Worker requests that reached their deadline.
    var requestsTimedOut: UInt64 = 0
    /// Worker answers that came for nothing awaited.
    var lateReplies: UInt64 = 0
    /// Workers declared dead.
    var workerDeaths: UInt64 = 0
    /// Sequences failed.
    var sequencesFailed: UInt64 = 0
    /// Drains started by a client.
    var drainsStarted: UInt64 = 0
    /// Drains that ended with the worker's own `Drain` acknowledged.
    var drainsCompleted: UInt64 = 0
    /// Shards moved off draining workers.
    var drainMoved: UInt64 = 0
    /// Shards no worker could adopt (they stayed on their draining worker).
    var drainStayed: UInt64 = 0
    /// Pages of the moved shards.
    var drainPages: UInt64 = 0
    /// Encoded page bytes the moved shards took across the network.
    var drainBytes: UInt64 = 0
    /// Cached pages other workers pulled from draining workers.
    var drainPulled: UInt64 = 0
    /// Client requests held while their sequence moved.
    var drainHeld: UInt64 = 0
    /// Of those, answered `unavailable` because the move outlasted their deadline.
    var drainHeldExpired: UInt64 = 0
    /// Sequences put back in the table from the workers' shard lists.
    var sequencesRecovered: UInt64 = 0
    /// Reported shards closed because the coordinator did not know them.
    var staleShardsClosed: UInt64 = 0
    /// Client requests held during the recovery window.
    var requestsHeld: UInt64 = 0
}

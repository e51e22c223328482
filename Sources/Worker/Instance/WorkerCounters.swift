/// Running totals of a worker, reported by `StatsRequest`.
struct WorkerCounters: Sendable, Equatable {
    /// Requests taken, answered or not.
    var requests: UInt64 = 0
    /// Requests refused.
    var errors: UInt64 = 0
    /// Tokens whose prefill attention was computed.
    var prefillTokens: UInt64 = 0
    /// Query rows whose decode attention was computed.
    var decodeRows: UInt64 = 0
    /// Tokens that opened sequences found in the prefix cache.
    var cachedTokensServed: UInt64 = 0
    /// Pages brought back hot from the lower tiers.
    var promoted: UInt64 = 0
    /// Pages evicted from the hot pool to the lower tiers.
    var demoted: UInt64 = 0
    /// KV pages received from other workers (pulls).
    var peerPagesReceived: UInt64 = 0
    /// Their bytes decoded.
    var peerBytesReceivedRaw: UInt64 = 0
    /// Their bytes as they travelled (the page encoding).
    var peerBytesReceivedEncoded: UInt64 = 0
    /// Shards of other workers' sequences adopted (a drain's hand-over).
    var shardsAdopted: UInt64 = 0
    /// Runs of shard pages sent to an adopting worker.
    var shardExports: UInt64 = 0
}

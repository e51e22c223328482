import CacheProtocol

/// Fetches pages from another worker (the I/O `PullPages` and `AdoptShard` need), so that the service stays free
/// of sockets.
protocol PagePeers: Sendable {
    /// The pages of `keys` that the worker at `endpoint` holds (a `PageGet`; at most
    /// `WireLimits.maxPagesPerRequest` keys), in key order, missing keys left out.
    func fetchPages(from endpoint: String, keys: [PrefixKey]) async throws(ServiceError) -> [EncodedPage]

    /// The worker at `endpoint`'s answer to `request` (a `ShardExport`: a run of a shard's pages,
    /// for an adoption).
    func exportShard(from endpoint: String, request: ShardExport) async throws(ServiceError) -> ShardExportReply
}

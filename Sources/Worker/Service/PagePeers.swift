import CacheProtocol

/// Fetches pages from another worker (the I/O `PullPages` needs), so that the service stays free
/// of sockets.
protocol PagePeers: Sendable {
    /// The pages of `keys` that the worker at `endpoint` holds (a `PageGet`; at most
    /// `WireLimits.maxPagesPerRequest` keys), in key order, missing keys left out.
    func fetchPages(from endpoint: String, keys: [PrefixKey]) async throws(ServiceError) -> [EncodedPage]
}

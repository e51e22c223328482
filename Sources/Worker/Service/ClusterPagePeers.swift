import CacheProtocol

/// Fetches pages from peers over ZeroMQ, one `ClusterClient` per peer endpoint, kept for reuse.
actor ClusterPagePeers: PagePeers {
    private let context: ZMQContext
    private let timeout: Duration
    private var clients: [String: ClusterClient] = [:]

    /// Peers reached through `context`; a peer that does not answer within `timeout` is unavailable.
    init(context: ZMQContext, timeout: Duration = .seconds(30)) {
        self.context = context
        self.timeout = timeout
    }

    /// Sends a `PageGet` for `keys` to the worker at `endpoint`.
    func fetchPages(from endpoint: String, keys: [PrefixKey]) async throws(ServiceError) -> [EncodedPage] {
        do throws(ClusterClientError) {
            let client: ClusterClient
            if let existing = clients[endpoint] {
                client = existing
            } else {
                client = try ClusterClient(context: context, endpoint: endpoint, timeout: timeout)
                clients[endpoint] = client
            }
            return try await client.getPages(keys)
        } catch {
            throw .unavailable("peer \(endpoint): \(error)")
        }
    }

    /// Closes every peer connection.
    func close() async {
        for client in clients.values { await client.disconnect() }
        clients = [:]
    }
}

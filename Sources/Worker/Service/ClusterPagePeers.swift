import CacheProtocol

/// Fetches pages and shards from peers over ZeroMQ, one `ClusterClient` per peer endpoint, kept for reuse.
/// Every request to a peer is bounded: a peer that does not answer within the timeout (dead, or
/// nothing listening at its endpoint) makes the fetch fail with `ServiceError.unavailable`, whose
/// message names the peer and the timeout.
actor ClusterPagePeers: PagePeers {
    /// How long one request to a peer (a `PageGet` of at most 1024 pages) may take before the peer
    /// counts as unavailable: 5 s.
    static let requestTimeout = Duration.seconds(5)

    private let context: ZMQContext
    private let timeout: Duration
    private var clients: [String: ClusterClient] = [:]

    /// Peers reached through `context`; a peer that does not answer a request within `timeout` is
    /// unavailable.
    init(context: ZMQContext, timeout: Duration = ClusterPagePeers.requestTimeout) {
        self.context = context
        self.timeout = timeout
    }

    /// `duration` as a person reads it in an error message: whole seconds as `5 s`, else
    /// milliseconds as `250 ms`.
    static func describe(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        if attoseconds == 0 { return "\(seconds) s" }
        return "\(seconds * 1000 + attoseconds / 1_000_000_000_000_000) ms"
    }

    /// Sends a `PageGet` for `keys` to the worker at `endpoint`. Throws `.unavailable` when the
    /// peer does not answer within the timeout or the connection fails, and passes on the peer's
    /// own refusal with its message.
    func fetchPages(from endpoint: String, keys: [PrefixKey]) async throws(ServiceError) -> [EncodedPage] {
        do throws(ClusterClientError) {
            return try await client(for: endpoint).getPages(keys)
        } catch .transport(.timedOut) {
            throw .unavailable("peer \(endpoint) did not answer a PageGet within \(Self.describe(timeout))")
        } catch {
            throw .unavailable("peer \(endpoint): \(error)")
        }
    }

    /// Sends `request` (a `ShardExport`) to the worker at `endpoint`. Throws `.unavailable` when the
    /// peer does not answer within the timeout or the connection fails; the peer's
    /// `unknownSequence` refusal keeps its code (the shard is not there), any other refusal is
    /// `.unavailable` with its message.
    func exportShard(from endpoint: String, request: ShardExport) async throws(ServiceError) -> ShardExportReply {
        let answer: Message
        do throws(ClusterClientError) {
            answer = try await client(for: endpoint).request(.shardExport(request))
        } catch .transport(.timedOut) {
            throw .unavailable("peer \(endpoint) did not answer a ShardExport within \(Self.describe(timeout))")
        } catch .refused(code: .unknownSequence, message: _) {
            throw .unknownSequence(request.sequenceID)
        } catch {
            throw .unavailable("peer \(endpoint): \(error)")
        }
        guard case .shardExportReply(let reply) = answer else {
            throw .unavailable("peer \(endpoint) answered \(answer.type) to a ShardExport")
        }
        return reply
    }

    /// The client for `endpoint`, made on first use.
    private func client(for endpoint: String) throws(ClusterClientError) -> ClusterClient {
        if let existing = clients[endpoint] { return existing }
        let client = try ClusterClient(context: context, endpoint: endpoint, timeout: timeout)
        clients[endpoint] = client
        return client
    }

    /// Closes every peer connection.
    func close() async {
        for client in clients.values { await client.disconnect() }
        clients = [:]
    }
}

/// Why a lower tier could not be set up.
public enum TierError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A tier's byte budget is zero or negative.
    case invalidCapacity(tier: String, bytes: Int)
    /// The data directory cannot be created or opened.
    case dataDirectory(path: String, reason: String)
    /// A remote tier was configured with no endpoint.
    case noRemoteEndpoint
    /// The transport to a remote endpoint could not be set up.
    case remoteTransport(endpoint: String, reason: String)

    /// What is wrong, in one sentence.
    public var description: String {
        switch self {
        case let .invalidCapacity(tier, bytes):
            "the \(tier) tier needs a positive byte budget, got \(bytes)"
        case let .dataDirectory(path, reason):
            "data directory \(path): \(reason)"
        case .noRemoteEndpoint:
            "a remote tier needs at least one endpoint"
        case let .remoteTransport(endpoint, reason):
            "remote tier endpoint \(endpoint): \(reason)"
        }
    }
}

/// One request of a workload as the driver replays it: a prompt under a tenant's namespace, how
/// many tokens to generate, and when it arrives.
public struct WorkloadRequest: Sendable, Hashable {
    /// When it arrives, from the start of the replay.
    public var arrival: Duration
    /// The tenant: part of every prefix key.
    public var namespace: String
    /// The prompt's token ids.
    public var tokens: [UInt32]
    /// Tokens to generate (decode steps).
    public var outputTokens: Int

    /// A request of `tokens` under `namespace`, generating `outputTokens`, arriving at `arrival`.
    public init(arrival: Duration, namespace: String, tokens: [UInt32], outputTokens: Int) {
        self.arrival = arrival
        self.namespace = namespace
        self.tokens = tokens
        self.outputTokens = outputTokens
    }
}

import Kernels

/// The built-in workload of `mfa-coordinator run` when no trace is given: multi-turn chats of
/// several tenants whose conversations start from a few shared system prompts. Turn `t + 1` of a
/// conversation is its turn-`t` prompt plus a new user message, so it can reuse that prompt's
/// cached pages; conversations under one system prompt share its pages; tenants share nothing.
/// Requests come turn by turn (every conversation's first turn, then every second turn, …).
public struct ChatWorkload: Sendable, Hashable {
    /// Tenants (namespaces), round-robin over conversations.
    public var tenants = ["acme", "globex"]
    /// Distinct system prompts per tenant.
    public var systemPrompts = 2
    /// Tokens of a system prompt.
    public var systemPromptTokens = 64
    /// Conversations in all.
    public var conversations = 12
    /// Turns per conversation.
    public var turns = 3
    /// Tokens of each user message (a range, drawn per turn).
    public var userTokens = 12...40
    /// Tokens generated per turn (a range, drawn per turn).
    public var outputTokens = 2...6
    /// Seed of every token id and length.
    public var seed: UInt64 = 11

    /// The default chat workload.
    public init() {}

    /// The requests, in arrival order (no pacing: arrivals are zero).
    public func requests() -> [WorkloadRequest] {
        var random = SplitMix64(seed: seed)
        func tokens(_ count: Int) -> [UInt32] {
            (0..<count).map { _ in UInt32(truncatingIfNeeded: random.next() >> 40) }
        }
        func draw(_ range: ClosedRange<Int>) -> Int {
            range.lowerBound + Int(random.next() % UInt64(range.count))
        }
        let prompts = tenants.map { _ in (0..<systemPrompts).map { _ in tokens(systemPromptTokens) } }
        var histories = (0..<conversations).map { conversation in
            prompts[conversation % tenants.count][(conversation / tenants.count) % systemPrompts]
        }
        var requests: [WorkloadRequest] = []
        for _ in 0..<turns {
            for conversation in 0..<conversations {
                histories[conversation] += tokens(draw(userTokens))
                requests.append(
                    WorkloadRequest(
                        arrival: .zero,
                        namespace: tenants[conversation % tenants.count],
                        tokens: histories[conversation],
                        outputTokens: draw(outputTokens)
                    )
                )
            }
        }
        return requests
    }
}

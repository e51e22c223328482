/// One trace request as the workload driver replays it.
public struct ScaledRequest: Sendable, Hashable {
    /// When it arrives, from the start of the replay.
    public var arrival: Duration
    /// The prompt's token ids.
    public var tokens: [UInt32]
    /// Tokens to generate (decode steps).
    public var outputTokens: Int
}

import CacheProtocol

/// A client request on a sequence whose shard is moving, kept until the move ends (then it is
/// served as if it had just arrived) or its deadline passes (then it is answered `unavailable`).
struct HeldRequest: Sendable {
    /// The client to answer.
    let client: RoutingIdentity
    /// The request as it came.
    let envelope: Envelope
    /// The sequences it names.
    let sequenceIDs: [UInt64]
    /// When it is answered `unavailable` if it is still held: its arrival plus `answerBound`.
    let deadline: MonotonicInstant
}

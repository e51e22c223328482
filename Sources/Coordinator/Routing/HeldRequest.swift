import CacheProtocol

/// A client request the coordinator cannot route yet, kept with its deadline: one on a sequence
/// whose shard is moving (a drain), until the move ends, or one naming a sequence not known yet
/// during the recovery window after a restart, until the sequence is rebuilt from the workers'
/// shard lists or the window ends. It is then routed with the deadline it got on arrival (so it
/// is answered within `answerBound` of its arrival whatever it waited for); still held at its
/// deadline, it is answered `unavailable`.
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

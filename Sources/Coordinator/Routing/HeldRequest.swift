import CacheProtocol

/// A client request naming a sequence the coordinator does not know, held during the recovery
/// window after a restart until the sequence is rebuilt from the workers' shard lists, the
/// window ends, or its deadline passes.
struct HeldRequest: Sendable {
    /// The client to answer.
    let client: RoutingIdentity
    /// The request as it came.
    let envelope: Envelope
    /// When it is answered `unavailable` if still held.
    let deadline: MonotonicInstant
    /// The sequences it names.
    let sequenceIDs: [UInt64]
}

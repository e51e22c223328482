/// The (source, target) pair whose keys go in one replication pull.
struct ReplicationBatch: Sendable, Hashable {
    /// The holder's slot.
    var source: Int
    /// The target's slot.
    var target: Int
}

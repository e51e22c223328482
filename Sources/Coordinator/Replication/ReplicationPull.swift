import CacheProtocol

/// A `PullPages` the coordinator sent so that `target` holds pages it did not: `keys`, pulled from
/// `source`, which held them. Its answer only counts; the index learns the new copies from the
/// target's own `CacheEvent`.
struct ReplicationPull: Sendable, Hashable {
    /// The holder the target pulls from (its endpoint is in the request); `pages` is the number of
    /// keys.
    var source: PullSource
    /// The target's registry slot.
    var targetSlot: Int
    /// The target.
    var target: WorkerID
    /// The keys, in the order the request lists them.
    var keys: [PrefixKey]
}

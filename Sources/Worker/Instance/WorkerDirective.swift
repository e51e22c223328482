import CacheProtocol
import Logging

/// What a `WorkerInstance` asks its shell to do. The shell performs the directives of one call in
/// the order given; a directive that brings something back (pages from the lower tiers, their
/// answer to contains, pages from a peer, an attention result, keys the tiers lost) says which
/// instance call takes it, and that call returns the next directives.
enum WorkerDirective: Sendable, Equatable {
    /// Send this answer to the requester; it carries the request's id.
    case reply(Envelope)
    /// Send a `StatsReply` of `counters` followed by the lower tiers' own counters
    /// (`LowerTiers.statistics()`), under `requestID`.
    case replyWithTierStatistics(requestID: UInt64, counters: [StatsReply.Counter])
    /// Publish these cache events to the coordinator, in this order; they are numbered already.
    case publish([NumberedCacheEvent])
    /// Hand `page`, just evicted from the hot pool, to the lower tiers (`LowerTiers.demote`), then
    /// report the keys that left the worker with `WorkerInstance.lowerTiersLost(_:)`.
    case demote(key: PrefixKey, page: RawPage)
    /// Remove these keys from every lower tier, durable copies included (`LowerTiers.remove`).
    case removeFromLowerTiers([PrefixKey])
    /// These keys were just admitted hot from a put or a peer. A key is the address of its content,
    /// so a page a lower tier holds under it is the same page: the tiers let go of theirs, except a
    /// file on disk, which stays as the hot page's durable copy (`LowerTiers.movedHot(keys:)`).
    case keepDurableCopies([PrefixKey])
    /// Give the hot page of `key` a durable copy on disk (`LowerTiers.keepDurableCopy`), then report
    /// the keys that left the worker to make room with `WorkerInstance.lowerTiersLost(_:)`.
    case writeDurableCopy(key: PrefixKey, page: RawPage)
    /// Bring these keys' pages back from the lower tiers (`LowerTiers.prefetch`), then call
    /// `WorkerInstance.resume(_:with:)` with the request and `.lowerTierPages`.
    case fetchFromLowerTiers([PrefixKey], then: PendingRequest)
    /// Ask the lower tiers whether they hold each of these keys (`LowerTiers.contains`), then call
    /// `WorkerInstance.resume(_:with:)` with the request and `.lowerTierPresence`, one flag per key.
    case askLowerTiersContain([PrefixKey], then: PendingRequest)
    /// Fetch these keys' pages from the worker at `endpoint` (`PagePeers.fetchPages`), then call
    /// `WorkerInstance.resume(_:with:)` with the request and `.peerPages`.
    case fetchFromPeer(endpoint: String, keys: [PrefixKey], then: PendingRequest)
    /// Ask the worker at `endpoint` for a run of a shard (`PagePeers.exportShard`), then call
    /// `WorkerInstance.resume(_:with:)` with the request and `.peerShard`.
    case exportFromPeer(endpoint: String, request: ShardExport, then: PendingRequest)
    /// Run the job's attention calls on the kernels' threads, then call
    /// `WorkerInstance.attentionFinished(_:_:)` with the job and the outcome; that call answers.
    case runAttention(AttentionJob)
    /// The last open sequence has just closed.
    case lastSequenceClosed
    /// Write this line to the worker's log.
    case log(Logger.Level, String)
}

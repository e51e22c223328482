import CacheProtocol

/// A request waiting for something only the shell can fetch. The directive that asks carries it,
/// and the shell hands it back with the answer (`WorkerInstance.resume(_:with:)`). It holds all the
/// instance needs to go on, so the instance keeps no table of requests in flight: a pending
/// request the shell drops leaves nothing behind. The instance checks its state again when the
/// answer comes, since other requests (a `PullPages` or an `AdoptShard` is served beside the
/// others) may have changed it meanwhile.
struct PendingRequest: Sendable, Equatable {
    /// Where a waiting request stands.
    enum Step: Sendable, Equatable {
        /// An `OpenSequence` whose leading pages below the hot pool (`asked`) are being brought back.
        case open(OpenSequence, asked: [PrefixKey])
        /// A `PageGet` of `keys` whose pages below the hot pool (`asked`) are being brought back.
        case get(keys: [PrefixKey], asked: [PrefixKey])
        /// A `PageContains` of `keys` whose keys that are not hot (`asked`) are put to the lower tiers.
        case contains(keys: [PrefixKey], asked: [PrefixKey])
        /// A `PrefetchPages` of `keys` whose pages below the hot pool (`asked`) are being brought back.
        case prefetch(keys: [PrefixKey], asked: [PrefixKey])
        /// A `PullPages` asking the lower tiers which of its keys that are not hot (`asked`) they hold.
        case pullPresence(PullPages, asked: [PrefixKey])
        /// A `PullPages` fetching `batch` from the peer, `remaining` to follow; `heldBelow` are the
        /// keys the lower tiers held when the pull began.
        case pullBatch(PullPages, batch: [PrefixKey], remaining: [PrefixKey], heldBelow: Set<PrefixKey>)
        /// An `AdoptShard` fetching the shard from its source; `received` is what came so far (nil
        /// before the first answer).
        case adopt(AdoptShard, received: ShardTransfer?)
    }

    /// The id of the request, which its answer carries.
    let requestID: UInt64
    /// Where the request stands.
    let step: Step

    /// The request's message type, for logs and refusals.
    var messageType: MessageType {
        switch step {
        case .open: .openSequence
        case .get: .pageGet
        case .contains: .pageContains
        case .prefetch: .prefetchPages
        case .pullPresence, .pullBatch: .pullPages
        case .adopt: .adoptShard
        }
    }
}

import CacheProtocol

/// What the shell brings back for a `PendingRequest`: the answer to the directive that asked.
enum FollowUpInput: Sendable, Equatable {
    /// The pages the lower tiers gave up (`LowerTiers.prefetch`), by key; an asked key without a
    /// page was not found (or was unreadable).
    case lowerTierPages([PrefixKey: RawPage])
    /// For each asked key, in order, whether a lower tier holds its page.
    case lowerTierPresence([Bool])
    /// The pages the peer sent, or why it could not be asked.
    case peerPages(Result<[EncodedPage], ServiceError>)
    /// The source worker's answer to a `ShardExport`, or why it could not be asked.
    case peerShard(Result<ShardExportReply, ServiceError>)
}

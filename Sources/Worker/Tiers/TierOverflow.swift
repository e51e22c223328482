import CacheProtocol

/// What a tier pushed out while taking a page: pages to hand to the next tier (least recently used
/// first, in the KV page encoding), and keys whose data could not be read back and are gone.
struct TierOverflow: Sendable {
    /// Pages that left the tier, to be placed in the next one.
    var pages: [EncodedPage] = []
    /// Keys that left the tier with no data to pass on.
    var lost: [PrefixKey] = []
}

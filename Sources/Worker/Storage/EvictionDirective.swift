import CacheProtocol

/// An instruction, produced when the hot pool evicts a cached page, for the layer that owns the
/// lower tiers. The page's hot slot has already been reused when the directive is returned, so a
/// demotion carries the page's bytes.
public enum EvictionDirective: Sendable, Hashable {
    /// Store `bytes` (the page in the canonical page layout) under `key` in the next tier.
    case demote(key: PrefixKey, bytes: [UInt8])
    /// The page under `key` was discarded.
    case drop(key: PrefixKey)

    /// The key of the evicted page.
    public var key: PrefixKey {
        switch self {
        case let .demote(key, _), let .drop(key): key
        }
    }
}

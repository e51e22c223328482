/// What becomes of a prefix page evicted from the hot pool.
public enum EvictionPolicy: Sendable, Hashable {
    /// The page is discarded.
    case drop
    /// The page's bytes are handed on to the next tier (compressed RAM, disk, a remote store).
    case demote
}

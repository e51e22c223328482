import CacheProtocol

/// What one cached page is worth to placement in each tier, as a fraction of a hot page: a page in
/// a lower tier saves its prefill but must first be brought back (decompressed, read from disk,
/// fetched from a peer), so it is credited less. The defaults and their reasons are in
/// docs/COORDINATOR.md.
public struct TierCredits: Sendable, Hashable {
    /// Credit of a hot page.
    public var hot: Double
    /// Credit of a page compressed in RAM.
    public var compressedMemory: Double
    /// Credit of a page on local disk.
    public var disk: Double
    /// Credit of a page on a remote peer or store.
    public var remote: Double

    /// Credits per tier, each in `0...1`.
    public init(hot: Double = 1.0, compressedMemory: Double = 0.9, disk: Double = 0.6, remote: Double = 0.5) {
        self.hot = hot
        self.compressedMemory = compressedMemory
        self.disk = disk
        self.remote = remote
    }

    /// The credit of a page in `tier`.
    @inline(__always)
    public func credit(_ tier: CacheTier) -> Double {
        switch tier {
        case .hot: hot
        case .compressedMemory: compressedMemory
        case .disk: disk
        case .remote: remote
        }
    }
}

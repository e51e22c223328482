import CacheProtocol

/// Where a worker holds an indexed page, fastest first. Placement credits a page in a lower tier
/// less than a hot one (`PlacementWeights.tierCredit`): it must be brought back before it serves.
///
/// Workers report tiers with `CacheTierEvent` and `TierSnapshotReply` (protocol 1.1); pages of a
/// 1.0 worker are all indexed `hot`.
public enum PageTier: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// In the worker's hot pool, uncompressed.
    case hot = 0
    /// LZ4-compressed in the worker's RAM.
    case compressedMemory = 1
    /// On the worker's local disk.
    case disk = 2
    /// On the worker's remote peer or store.
    case remote = 3

    /// Counter-name form: `hot`, `compressed`, `disk`, `remote`.
    public var description: String {
        switch self {
        case .hot: "hot"
        case .compressedMemory: "compressed"
        case .disk: "disk"
        case .remote: "remote"
        }
    }
}

extension PageTier {
    /// The index's tier for a tier a worker reported.
    init(_ tier: CacheTier) {
        switch tier {
        case .hot: self = .hot
        case .compressedMemory: self = .compressedMemory
        case .disk: self = .disk
        case .remote: self = .remote
        }
    }
}

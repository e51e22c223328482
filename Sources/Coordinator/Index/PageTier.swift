/// Where a worker holds an indexed page, fastest first. Placement credits a page in a lower tier
/// less than a hot one (`PlacementWeights.tierCredit`): it must be brought back before it serves.
///
/// `CacheEvent` and `SnapshotReply` carry no tier today, so every indexed page is `hot`; a protocol
/// addition that reports tiers (see docs/COORDINATOR.md) only has to pass them to
/// `PrefixIndex.insert(_:worker:tier:)`.
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

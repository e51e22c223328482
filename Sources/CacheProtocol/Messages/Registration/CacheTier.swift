/// Where a worker holds a cached page, fastest first: what `CacheTierEvent` and
/// `TierSnapshotReply` report, so that the coordinator credits a page in a lower tier less than a
/// hot one (it must be brought back before it serves).
public enum CacheTier: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// In the worker's hot pool. Code 0.
    case hot = 0
    /// LZ4-compressed in the worker's RAM. Code 1.
    case compressedMemory = 1
    /// On the worker's local disk. Code 2.
    case disk = 2
    /// With the worker's remote peer or store. Code 3.
    case remote = 3

    /// `hot`, `compressed`, `disk`, `remote`.
    public var description: String {
        switch self {
        case .hot: "hot"
        case .compressedMemory: "compressed"
        case .disk: "disk"
        case .remote: "remote"
        }
    }

    /// Reads a tier code, refusing unknown ones.
    static func read(_ field: String, from body: inout WireReader) throws(WireError) -> CacheTier {
        let code = try body.readUInt8(field)
        guard let tier = CacheTier(rawValue: code) else { throw .invalidValue(field: field, value: UInt64(code)) }
        return tier
    }
}

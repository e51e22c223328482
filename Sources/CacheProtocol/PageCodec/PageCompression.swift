/// How a page's (filtered) bytes are stored in its payload.
public enum PageCompression: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// The bytes as they are: the payload is exactly the raw length.
    case raw = 0
    /// One LZ4 block (the LZ4 block format, no frame) that decompresses to exactly the raw length.
    case lz4 = 1

    public var description: String {
        switch self {
        case .raw: "raw"
        case .lz4: "lz4"
        }
    }
}

/// Why a page could not be encoded or decoded. Decoding never returns data that failed a check.
public enum PageCodecError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A layout dimension is out of range.
    case invalidLayout(String)
    /// A page was given the wrong number of values for its layout.
    case valueCountMismatch(given: Int, expected: Int)
    /// The encoded page is shorter than its header says it must be.
    case truncated(needed: Int, available: Int)
    /// The first four bytes are not the page magic `MFAP`.
    case badMagic([UInt8])
    /// The format version is not one this codec reads.
    case unsupportedVersion(UInt8)
    /// The storage type code is unknown.
    case unknownStorageType(UInt8)
    /// The filter code is unknown.
    case unknownFilter(UInt8)
    /// The compression code is unknown.
    case unknownCompression(UInt8)
    /// The raw length does not match the layout.
    case rawLengthMismatch(declared: Int, expected: Int)
    /// The payload length in the header does not match the bytes present.
    case encodedLengthMismatch(declared: Int, actual: Int)
    /// The payload length is impossible for the compression: a raw payload is exactly the raw
    /// length, an LZ4 payload is non-empty, shorter, and at least 1/255 of the raw length (no LZ4
    /// block expands more).
    case impossiblePayloadLength(declared: Int, rawLength: Int, compression: PageCompression)
    /// The LZ4 payload is malformed or does not decompress to exactly the raw length.
    case decompressionFailed(produced: Int, expected: Int)
    /// The decoded bytes do not hash to the header's checksum.
    case checksumMismatch(expected: UInt64, actual: UInt64)

    public var description: String {
        switch self {
        case .invalidLayout(let why): "invalid page layout: \(why)"
        case .valueCountMismatch(let given, let expected):
            "page needs \(expected) values, was given \(given)"
        case .truncated(let needed, let available):
            "truncated page: needs \(needed) bytes, has \(available)"
        case .badMagic(let bytes): "not an encoded page: magic \(bytes) is not \"MFAP\""
        case .unsupportedVersion(let v): "unsupported page format version \(v)"
        case .unknownStorageType(let c): "unknown page storage type code \(c)"
        case .unknownFilter(let c): "unknown page filter code \(c)"
        case .unknownCompression(let c): "unknown page compression code \(c)"
        case .rawLengthMismatch(let declared, let expected):
            "page raw length \(declared) does not match its layout (\(expected) bytes)"
        case .encodedLengthMismatch(let declared, let actual):
            "page payload length \(declared) does not match the \(actual) bytes present"
        case .impossiblePayloadLength(let declared, let rawLength, let compression):
            "page payload length \(declared) is impossible for \(compression) with raw length \(rawLength)"
        case .decompressionFailed(let produced, let expected):
            "page LZ4 payload is malformed: produced \(produced) of \(expected) bytes"
        case .checksumMismatch(let expected, let actual):
            "page checksum mismatch: header says \(hex(expected)), content hashes to \(hex(actual))"
        }
    }

    private func hex(_ v: UInt64) -> String {
        let digits = String(v, radix: 16)
        return "0x" + String(repeating: "0", count: 16 - digits.count) + digits
    }
}

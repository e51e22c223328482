/// A value that is a 32-byte SHA-256 digest with its own meaning (`ModelFingerprint`, `PrefixKey`):
/// gives it the byte and hexadecimal forms of `Digest32`.
public protocol DigestValue: Sendable, Hashable, CustomStringConvertible {
    /// The 32 bytes.
    var digest: Digest32 { get }
    /// Wraps 32 bytes.
    init(digest: Digest32)
}

extension DigestValue {
    /// The value of exactly 32 `bytes`; `nil` for any other count.
    public init?(bytes: some Collection<UInt8>) {
        guard let digest = Digest32(bytes: bytes) else { return nil }
        self.init(digest: digest)
    }

    /// Parses 64 hexadecimal digits.
    public init(hex: String) throws(HexError) {
        self.init(digest: try Digest32(hex: hex))
    }

    /// The 32 bytes in order.
    public var bytes: [UInt8] { digest.bytes }
    /// 64 lower-case hexadecimal digits.
    public var hex: String { digest.hex }
    /// Same as `hex`.
    public var description: String { digest.hex }
}

import Crypto

/// 32 bytes held inline as four little-endian words: the storage of a SHA-256 result
/// (`ModelFingerprint`, `PrefixKey`), cheap to copy, hash and compare.
public struct Digest32: Sendable, Hashable, CustomStringConvertible {
    /// Number of bytes.
    public static let byteCount = 32

    private let w0: UInt64
    private let w1: UInt64
    private let w2: UInt64
    private let w3: UInt64

    /// All 32 bytes zero.
    public static let zero = Digest32(w0: 0, w1: 0, w2: 0, w3: 0)

    /// The digest whose bytes 0–7, 8–15, 16–23, 24–31 are the little-endian words `w0`…`w3`.
    init(w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64) {
        self.w0 = w0
        self.w1 = w1
        self.w2 = w2
        self.w3 = w3
    }

    /// The little-endian words of bytes 0–7, 8–15, 16–23, 24–31.
    public var words: (UInt64, UInt64, UInt64, UInt64) { (w0, w1, w2, w3) }

    /// The digest whose bytes 0–7, 8–15, 16–23, 24–31 are the little-endian words of `words`.
    public init(words: (UInt64, UInt64, UInt64, UInt64)) {
        self.init(w0: words.0, w1: words.1, w2: words.2, w3: words.3)
    }

    /// The 32 bytes of `bytes`; returns `nil` unless `bytes` holds exactly 32.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == Self.byteCount else { return nil }
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        for (index, byte) in bytes.enumerated() {
            let shifted = UInt64(byte) << UInt64(8 * (index & 7))
            switch index >> 3 {
            case 0: words.0 |= shifted
            case 1: words.1 |= shifted
            case 2: words.2 |= shifted
            default: words.3 |= shifted
            }
        }
        self.init(w0: words.0, w1: words.1, w2: words.2, w3: words.3)
    }

    /// Parses exactly 64 hexadecimal digits (either case), byte by byte in order.
    public init(hex: String) throws(HexError) {
        let utf8 = Array(hex.utf8)
        guard utf8.count == 2 * Self.byteCount else { throw .wrongLength(utf8.count) }
        var bytes = [UInt8]()
        bytes.reserveCapacity(Self.byteCount)
        var index = 0
        while index < utf8.count {
            guard let high = Self.nibble(utf8[index]), let low = Self.nibble(utf8[index + 1]) else {
                throw .invalidDigit(offset: Self.nibble(utf8[index]) == nil ? index : index + 1)
            }
            bytes.append(high << 4 | low)
            index += 2
        }
        guard let digest = Digest32(bytes: bytes) else { throw .wrongLength(utf8.count) }
        self = digest
    }

    /// The SHA-256 of `data`.
    public init(sha256 data: [UInt8]) {
        var hasher = SHA256()
        data.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        let digest = hasher.finalize()
        var bytes = [UInt8]()
        bytes.reserveCapacity(Self.byteCount)
        digest.withUnsafeBytes { bytes.append(contentsOf: $0) }
        self = Digest32(bytes: bytes) ?? .zero
    }

    /// The 32 bytes in order.
    public var bytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(Self.byteCount)
        for word in [w0, w1, w2, w3] {
            for shift in stride(from: 0, to: 64, by: 8) { out.append(UInt8(truncatingIfNeeded: word >> UInt64(shift))) }
        }
        return out
    }

    /// The bytes as 64 lower-case hexadecimal digits.
    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(2 * Self.byteCount)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Same as `hex`.
    public var description: String { hex }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

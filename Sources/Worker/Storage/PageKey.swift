/// The 32-byte key of one full page of a prompt: the chained hash that names the page's tokens and
/// everything before them. Two pages with equal keys hold the same K/V.
///
/// The worker's storage only compares and hashes keys; it never computes them.
public struct PageKey: Hashable, Sendable, CustomStringConvertible {
    /// Number of bytes in a key.
    public static let byteCount = 32

    private let word0: UInt64
    private let word1: UInt64
    private let word2: UInt64
    private let word3: UInt64

    /// Wraps exactly `byteCount` bytes; throws `.invalidKeyLength` for any other count.
    public init(bytes: [UInt8]) throws(StorageError) {
        guard bytes.count == Self.byteCount else {
            throw .invalidKeyLength(expected: Self.byteCount, actual: bytes.count)
        }
        func word(_ index: Int) -> UInt64 {
            var value: UInt64 = 0
            for byte in bytes[index * 8..<index * 8 + 8].reversed() { value = value << 8 | UInt64(byte) }
            return value
        }
        word0 = word(0)
        word1 = word(1)
        word2 = word(2)
        word3 = word(3)
    }

    /// The key's bytes, in the order they were given.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Self.byteCount)
        for word in [word0, word1, word2, word3] {
            for shift in stride(from: 0, to: 64, by: 8) { out.append(UInt8(truncatingIfNeeded: word >> UInt64(shift))) }
        }
        return out
    }

    /// Lower-case hexadecimal of the bytes.
    public var description: String {
        let digits = Array("0123456789abcdef")
        return String(bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] })
    }
}

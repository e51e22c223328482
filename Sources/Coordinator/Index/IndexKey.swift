import CacheProtocol

/// A prefix key as the index stores it: its 32 bytes as four words, compared word by word and
/// hashed without `Hasher`. Equal keys give equal `IndexKey`s and different keys different ones.
struct IndexKey: Sendable, Hashable {
    /// The key's bytes 0–7, 8–15, 16–23, 24–31.
    var w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64

    /// Whether a `PrefixKey` value is its 32 digest bytes and nothing else, so that its memory can
    /// be read as four words.
    private static let keyIsItsDigest = MemoryLayout<PrefixKey>.size == Digest32.byteCount

    /// The words of `key`.
    init(_ key: PrefixKey) {
        if Self.keyIsItsDigest {
            self = withUnsafeBytes(of: key) { raw in
                IndexKey(
                    w0: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self),
                    w1: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
                    w2: raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self),
                    w3: raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
                )
            }
        } else {
            let bytes = key.bytes
            func word(_ index: Int) -> UInt64 {
                (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[8 * index + $1]) << UInt64(8 * $1) }
            }
            self.init(w0: word(0), w1: word(1), w2: word(2), w3: word(3))
        }
    }

    /// Four words.
    init(w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64) {
        self.w0 = w0
        self.w1 = w1
        self.w2 = w2
        self.w3 = w3
    }

    /// The `PrefixKey` of these words (bytes 0–7 from `w0`, little-endian, and so on).
    var prefixKey: PrefixKey? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        for word in [w0, w1, w2, w3] {
            for shift in stride(from: UInt64(0), to: 64, by: 8) {
                bytes.append(UInt8(truncatingIfNeeded: word >> shift))
            }
        }
        return PrefixKey(bytes: bytes)
    }

    /// A 64-bit hash of the key under `seed`. Keys are SHA-256 outputs, but a tenant chooses its
    /// prompts, so it could search for keys whose first word collides in the bits the table uses;
    /// mixing two words with a secret seed makes such a search useless.
    @inline(__always)
    func hash(seed: UInt64) -> UInt64 {
        var x = (w0 ^ seed) &* 0x9E37_79B9_7F4A_7C15
        x ^= (w1 &+ seed) &* 0xC2B2_AE3D_27D4_EB4F
        x ^= x >> 29
        x = x &* 0xBF58_476D_1CE4_E5B9
        return x ^ (x >> 32)
    }
}

/// The fast, seeded, non-cryptographic hash `PrefixKeyCache` files a page under: a running hash
/// of the namespace's id and every token of the prompt up to and including the page, so that the
/// hashes of a prompt's pages are known before any of their keys (and the cache's lines can be
/// fetched ahead). It only chooses where to look: a hit is verified exactly, so a collision costs
/// a comparison, never a wrong key.
///
/// Each 16 bytes of a page are folded by a 64 × 64 → 128-bit multiply whose halves are xored (as
/// wyhash does), the page's folds summed and folded with the previous page's hash, with constants
/// derived from a secret seed: a tenant choosing prompts cannot aim them at
/// one bucket, which would turn lookups into long probes.
struct PrefixTokenHash: Sendable {
    private let secrets: (UInt64, UInt64, UInt64, UInt64)
    /// Bits kept of every hash (all of them, except in tests that force collisions).
    let mask: UInt64

    /// The hash keyed by `seed`; `mask` keeps only those bits of every hash (`0` files every page
    /// in the same bucket with the same tag, which tests use to force collisions).
    init(seed: UInt64, mask: UInt64 = .max) {
        var state = seed
        func nextSecret() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return (z ^ (z >> 31)) | 1
        }
        secrets = (nextSecret(), nextSecret(), nextSecret(), nextSecret())
        self.mask = mask
    }

    /// The hash before a prompt's first page, in namespace `namespace` (an id of `NamespaceTable`).
    @inline(__always)
    func start(namespace: UInt32) -> UInt64 {
        Self.fold(UInt64(namespace) ^ secrets.0, secrets.1)
    }

    /// The hash of the prompt up to and including the page of `pageSize` tokens at `tokens`, after
    /// `previous` (the previous page's hash, or `start`'s). Use `masked` to file it.
    @inline(__always)
    func next(_ previous: UInt64, tokens: UnsafePointer<UInt32>, pageSize: Int) -> UInt64 {
        // The page's pairs of words are folded independently (the multiplies overlap), their sum
        // then folded with the previous page's hash.
        let words = PageTokenWords.count(pageSize: pageSize)
        var sum: UInt64 = 0
        var lane = secrets.1
        var index = 0
        while index < words {
            let a = PageTokenWords.word(tokens, pageSize: pageSize, index: index)
            let b = index + 1 < words ? PageTokenWords.word(tokens, pageSize: pageSize, index: index + 1) : 0
            sum &+= Self.fold(a ^ lane, b ^ secrets.2)
            lane &+= secrets.3
            index += 2
        }
        return Self.fold(previous ^ sum ^ secrets.3, UInt64(truncatingIfNeeded: pageSize) ^ secrets.0)
    }

    /// `hash` with only the kept bits.
    @inline(__always)
    func masked(_ hash: UInt64) -> UInt64 { hash & mask }

    /// The two halves of the 128-bit product, xored.
    @inline(__always)
    private static func fold(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let (high, low) = a.multipliedFullWidth(by: b)
        return high ^ low
    }
}

extension PrefixTokenHash {
    /// Xored into the index's secret seed to key the cache's hash, so that the two hashes'
    /// constants differ.
    static let seedTweak: UInt64 = 0x6B65_7963_6163_6865
}

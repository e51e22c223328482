import CXXHash

/// The checksum of a page's raw bytes: XXH3-64 (xxHash 0.8, `XXH3_64bits_withSeed`) with seed 0.
enum PageChecksum {
    /// The seed every page checksum uses.
    static let seed: UInt64 = 0

    /// XXH3-64 of `bytes` with `seed`.
    static func of(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        XXH3_64bits_withSeed(bytes.baseAddress, bytes.count, seed)
    }
}

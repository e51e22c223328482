import CLZ4

/// LZ4 block compression (liblz4's block format, no frame), default acceleration.
enum LZ4Block {
    /// No LZ4 block expands more than this many times: each input byte yields at most 255 output
    /// bytes. A decoder refuses a payload that claims more before allocating for it.
    static let maximumRatio = 255

    /// Compresses `count` bytes at `src` into at most `capacity` bytes at `dst`; the compressed
    /// length, or `nil` when it would not fit.
    static func compress(_ src: UnsafeRawPointer, count: Int, into dst: UnsafeMutableRawPointer, capacity: Int) -> Int?
    {
        let produced = LZ4_compress_default(
            src.assumingMemoryBound(to: CChar.self),
            dst.assumingMemoryBound(to: CChar.self),
            Int32(count),
            Int32(capacity)
        )
        return produced > 0 ? Int(produced) : nil
    }

    /// Decompresses the `count` bytes at `src` into at most `capacity` bytes at `dst` with
    /// `LZ4_decompress_safe` (never reads or writes out of bounds); the length produced, negative
    /// for a malformed block.
    static func decompress(_ src: UnsafeRawPointer, count: Int, into dst: UnsafeMutableRawPointer, capacity: Int) -> Int
    {
        Int(
            LZ4_decompress_safe(
                src.assumingMemoryBound(to: CChar.self),
                dst.assumingMemoryBound(to: CChar.self),
                Int32(count),
                Int32(capacity)
            )
        )
    }
}

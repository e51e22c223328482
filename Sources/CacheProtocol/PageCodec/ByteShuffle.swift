/// Byte planes (the Blosc shuffle): `n` elements of `s` bytes become `s` planes of `n` bytes,
/// plane `j` holding byte `j` of every element in element order.
///
/// The 2- and 4-byte cases are plain typed-pointer loops that LLVM vectorises (with AVX-512:
/// `vpmovwb` / `vpmovdb` per plane; generic SIMD conversions were not vectorised); other sizes take
/// a byte-by-byte loop.
enum ByteShuffle {
    /// Writes the `s` planes of `count` elements at `src` to `dst` (`count * s` bytes each).
    static func shuffle(_ src: UnsafeRawPointer, into dst: UnsafeMutableRawPointer, count n: Int, elementSize s: Int) {
        switch s {
        case 1:
            dst.copyMemory(from: src, byteCount: n)
        case 2:
            let input = src.assumingMemoryBound(to: UInt16.self)
            let low = dst.assumingMemoryBound(to: UInt8.self)
            let high = low + n
            for i in 0..<n {
                let v = UInt16(littleEndian: input[i])
                low[i] = UInt8(truncatingIfNeeded: v)
                high[i] = UInt8(truncatingIfNeeded: v >> 8)
            }
        case 4:
            let input = src.assumingMemoryBound(to: UInt32.self)
            let p0 = dst.assumingMemoryBound(to: UInt8.self)
            let p1 = p0 + n
            let p2 = p1 + n
            let p3 = p2 + n
            for i in 0..<n {
                let v = UInt32(littleEndian: input[i])
                p0[i] = UInt8(truncatingIfNeeded: v)
                p1[i] = UInt8(truncatingIfNeeded: v >> 8)
                p2[i] = UInt8(truncatingIfNeeded: v >> 16)
                p3[i] = UInt8(truncatingIfNeeded: v >> 24)
            }
        default:
            scalarShuffle(src, into: dst, count: n, elementSize: s)
        }
    }

    /// Inverse of `shuffle`: gathers the `s` planes at `src` back into `count` elements at `dst`.
    static func unshuffle(_ src: UnsafeRawPointer, into dst: UnsafeMutableRawPointer, count n: Int, elementSize s: Int)
    {
        switch s {
        case 1:
            dst.copyMemory(from: src, byteCount: n)
        case 2:
            let low = src.assumingMemoryBound(to: UInt8.self)
            let high = low + n
            let output = dst.assumingMemoryBound(to: UInt16.self)
            for i in 0..<n { output[i] = (UInt16(low[i]) | UInt16(high[i]) << 8).littleEndian }
        case 4:
            let p0 = src.assumingMemoryBound(to: UInt8.self)
            let p1 = p0 + n
            let p2 = p1 + n
            let p3 = p2 + n
            let output = dst.assumingMemoryBound(to: UInt32.self)
            for i in 0..<n {
                output[i] =
                    (UInt32(p0[i]) | UInt32(p1[i]) << 8 | UInt32(p2[i]) << 16 | UInt32(p3[i]) << 24).littleEndian
            }
        default:
            scalarUnshuffle(src, into: dst, count: n, elementSize: s)
        }
    }

    private static func scalarShuffle(
        _ src: UnsafeRawPointer,
        into dst: UnsafeMutableRawPointer,
        count n: Int,
        elementSize s: Int
    ) {
        let input = src.assumingMemoryBound(to: UInt8.self)
        let output = dst.assumingMemoryBound(to: UInt8.self)
        for i in 0..<n {
            for j in 0..<s { output[j * n + i] = input[i * s + j] }
        }
    }

    private static func scalarUnshuffle(
        _ src: UnsafeRawPointer,
        into dst: UnsafeMutableRawPointer,
        count n: Int,
        elementSize s: Int
    ) {
        let input = src.assumingMemoryBound(to: UInt8.self)
        let output = dst.assumingMemoryBound(to: UInt8.self)
        for i in 0..<n {
            for j in 0..<s { output[i * s + j] = input[j * n + i] }
        }
    }
}

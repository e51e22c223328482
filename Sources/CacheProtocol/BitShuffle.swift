/// Bit planes of one byte plane: `n` bytes become 8 planes of `n / 8` bytes, plane `k` holding
/// bit `k` of every byte, 8 bytes per output byte, least significant bit first; the last `n mod 8`
/// bytes follow the planes unchanged.
///
/// Each group of 8 bytes is an 8×8 bit matrix, transposed with three delta swaps on a `UInt64`
/// (Hacker's Delight, 7-3); 8 groups run at once in a `SIMD8<UInt64>`. The transposition is its own
/// inverse.
enum BitShuffle {
    /// Writes the bit planes of the `n` bytes at `src` to `dst` (`n` bytes).
    static func split(_ src: UnsafeRawPointer, into dst: UnsafeMutableRawPointer, count n: Int) {
        let m = n / 8
        var g = 0
        while g + 8 <= m {
            let x = transpose(src.loadUnaligned(fromByteOffset: 8 * g, as: SIMD8<UInt64>.self))
            for r in 0..<8 {
                dst.storeBytes(of: SIMD8<UInt8>(truncatingIfNeeded: x &>> UInt64(8 * r)), toByteOffset: r * m + g, as: SIMD8<UInt8>.self)
            }
            g += 8
        }
        while g < m {
            let x = transpose(UInt64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * g, as: UInt64.self)))
            for r in 0..<8 {
                dst.storeBytes(of: UInt8(truncatingIfNeeded: x >> UInt64(8 * r)), toByteOffset: r * m + g, as: UInt8.self)
            }
            g += 1
        }
        (dst + 8 * m).copyMemory(from: src + 8 * m, byteCount: n - 8 * m)
    }

    /// Inverse of `split`: rebuilds the `n` bytes at `dst` from the planes at `src`.
    static func join(_ src: UnsafeRawPointer, into dst: UnsafeMutableRawPointer, count n: Int) {
        let m = n / 8
        var g = 0
        while g + 8 <= m {
            var x = SIMD8<UInt64>()
            for r in 0..<8 {
                x |= SIMD8<UInt64>(truncatingIfNeeded: src.loadUnaligned(fromByteOffset: r * m + g, as: SIMD8<UInt8>.self)) &<< UInt64(8 * r)
            }
            dst.storeBytes(of: transpose(x), toByteOffset: 8 * g, as: SIMD8<UInt64>.self)
            g += 8
        }
        while g < m {
            var x: UInt64 = 0
            for r in 0..<8 {
                x |= UInt64(src.load(fromByteOffset: r * m + g, as: UInt8.self)) << UInt64(8 * r)
            }
            dst.storeBytes(of: transpose(x).littleEndian, toByteOffset: 8 * g, as: UInt64.self)
            g += 1
        }
        (dst + 8 * m).copyMemory(from: src + 8 * m, byteCount: n - 8 * m)
    }

    /// Bit `8i + k` goes to bit `8k + i`.
    @inline(__always)
    static func transpose(_ v: SIMD8<UInt64>) -> SIMD8<UInt64> {
        var x = v
        var t = (x ^ (x &>> 7)) & SIMD8(repeating: 0x00AA_00AA_00AA_00AA)
        x = x ^ t ^ (t &<< 7)
        t = (x ^ (x &>> 14)) & SIMD8(repeating: 0x0000_CCCC_0000_CCCC)
        x = x ^ t ^ (t &<< 14)
        t = (x ^ (x &>> 28)) & SIMD8(repeating: 0x0000_0000_F0F0_F0F0)
        return x ^ t ^ (t &<< 28)
    }

    /// Bit `8i + k` goes to bit `8k + i`.
    @inline(__always)
    static func transpose(_ v: UInt64) -> UInt64 {
        var x = v
        var t = (x ^ (x >> 7)) & 0x00AA_00AA_00AA_00AA
        x = x ^ t ^ (t << 7)
        t = (x ^ (x >> 14)) & 0x0000_CCCC_0000_CCCC
        x = x ^ t ^ (t << 14)
        t = (x ^ (x >> 28)) & 0x0000_0000_F0F0_F0F0
        return x ^ t ^ (t << 28)
    }
}

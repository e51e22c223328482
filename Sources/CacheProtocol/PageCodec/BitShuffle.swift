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
                dst.storeBytes(
                    of: SIMD8<UInt8>(truncatingIfNeeded: x &>> UInt64(8 * r)),
                    toByteOffset: r * m + g,
                    as: SIMD8<UInt8>.self
                )
            }
            g += 8
        }
        while g < m {
            let x = transpose(UInt64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * g, as: UInt64.self)))
            for r in 0..<8 {
                dst.storeBytes(
                    of: UInt8(truncatingIfNeeded: x >> UInt64(8 * r)),
                    toByteOffset: r * m + g,
                    as: UInt8.self
                )
            }
            g += 1
        }
        (dst + 8 * m).copyMemory(from: src + 8 * m, byteCount: n - 8 * m)
    }

    /// Inverse of `split` followed by the byte-plane gather, in one pass over the page: `src` holds
    /// the `s` byte planes of `n` elements, each split into bit planes (`n` bytes a plane); `dst`
    /// receives the `n` elements of `s` bytes (`ByteShuffle.unshuffle` of the joined planes).
    ///
    /// The planes are joined a chunk of `chunkGroups` groups at a time into a scratch buffer that
    /// stays in L1, which `ByteShuffle.unshuffle` then gathers into `dst`; for `s` = 1 the planes
    /// are joined straight into `dst`.
    static func join(_ src: UnsafeRawPointer, into dst: UnsafeMutableRawPointer, count n: Int, elementSize s: Int) {
        let m = n / 8
        if s == 1 {
            joinGroups(src, planeLength: m, groups: 0..<m, into: dst)
        } else {
            withUnsafeTemporaryAllocation(byteCount: 8 * chunkGroups * s, alignment: 64) { scratch in
                let planes = scratch.baseAddress.unsafelyUnwrapped
                var g = 0
                while g < m {
                    let groups = min(chunkGroups, m - g)
                    for j in 0..<s {
                        joinGroups(src + j * n, planeLength: m, groups: g..<g + groups, into: planes + j * 8 * groups)
                    }
                    ByteShuffle.unshuffle(planes, into: dst + 8 * g * s, count: 8 * groups, elementSize: s)
                    g += groups
                }
            }
        }
        for e in (8 * m)..<n {
            for j in 0..<s { (dst + e * s + j).copyMemory(from: src + j * n + e, byteCount: 1) }
        }
    }

    /// Groups joined per chunk by `join`: 4 KiB of each byte plane.
    private static let chunkGroups = 512

    /// Writes the bytes of `groups` of the bit planes at `planes` (each `m` bytes long) to `out`,
    /// 8 a group.
    private static func joinGroups(
        _ planes: UnsafeRawPointer,
        planeLength m: Int,
        groups: Range<Int>,
        into out: UnsafeMutableRawPointer
    ) {
        var g = groups.lowerBound
        var offset = 0
        while g + 8 <= groups.upperBound {
            var x = SIMD8<UInt64>()
            for r in 0..<8 {
                x |=
                    SIMD8<UInt64>(
                        truncatingIfNeeded: planes.loadUnaligned(fromByteOffset: r * m + g, as: SIMD8<UInt8>.self)
                    ) &<< UInt64(8 * r)
            }
            out.storeBytes(of: transpose(x), toByteOffset: offset, as: SIMD8<UInt64>.self)
            g += 8
            offset += 64
        }
        while g < groups.upperBound {
            var x: UInt64 = 0
            for r in 0..<8 {
                x |= UInt64(planes.load(fromByteOffset: r * m + g, as: UInt8.self)) << UInt64(8 * r)
            }
            out.storeBytes(of: transpose(x).littleEndian, toByteOffset: offset, as: UInt64.self)
            g += 1
            offset += 8
        }
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

/// Byte planes (the Blosc shuffle): `n` elements of `s` bytes become `s` planes of `n` bytes,
/// plane `j` holding byte `j` of every element in element order.
///
/// The 2- and 4-byte cases run on 64-byte SIMD vectors (one `vpmovwb` / `vpmovdb` per plane and
/// vector with AVX-512); other sizes take a scalar loop.
enum ByteShuffle {
    /// Writes the `s` planes of `count` elements at `src` to `dst` (`count * s` bytes each).
    static func shuffle(_ src: UnsafeRawPointer, into dst: UnsafeMutableRawPointer, count n: Int, elementSize s: Int) {
        switch s {
        case 1:
            dst.copyMemory(from: src, byteCount: n)
        case 2:
            var i = 0
            while i + 32 <= n {
                let v = src.loadUnaligned(fromByteOffset: 2 * i, as: SIMD32<UInt16>.self)
                dst.storeBytes(of: SIMD32<UInt8>(truncatingIfNeeded: v), toByteOffset: i, as: SIMD32<UInt8>.self)
                dst.storeBytes(of: SIMD32<UInt8>(truncatingIfNeeded: v &>> 8), toByteOffset: n + i, as: SIMD32<UInt8>.self)
                i += 32
            }
            scalarShuffle(src, into: dst, from: i, count: n, elementSize: 2)
        case 4:
            var i = 0
            while i + 16 <= n {
                let v = src.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<UInt32>.self)
                dst.storeBytes(of: SIMD16<UInt8>(truncatingIfNeeded: v), toByteOffset: i, as: SIMD16<UInt8>.self)
                dst.storeBytes(of: SIMD16<UInt8>(truncatingIfNeeded: v &>> 8), toByteOffset: n + i, as: SIMD16<UInt8>.self)
                dst.storeBytes(of: SIMD16<UInt8>(truncatingIfNeeded: v &>> 16), toByteOffset: 2 * n + i, as: SIMD16<UInt8>.self)
                dst.storeBytes(of: SIMD16<UInt8>(truncatingIfNeeded: v &>> 24), toByteOffset: 3 * n + i, as: SIMD16<UInt8>.self)
                i += 16
            }
            scalarShuffle(src, into: dst, from: i, count: n, elementSize: 4)
        default:
            scalarShuffle(src, into: dst, from: 0, count: n, elementSize: s)
        }
    }

    /// Inverse of `shuffle`: gathers the `s` planes at `src` back into `count` elements at `dst`.
    static func unshuffle(_ src: UnsafeRawPointer, into dst: UnsafeMutableRawPointer, count n: Int, elementSize s: Int) {
        switch s {
        case 1:
            dst.copyMemory(from: src, byteCount: n)
        case 2:
            var i = 0
            while i + 32 <= n {
                let lo = SIMD32<UInt16>(truncatingIfNeeded: src.loadUnaligned(fromByteOffset: i, as: SIMD32<UInt8>.self))
                let hi = SIMD32<UInt16>(truncatingIfNeeded: src.loadUnaligned(fromByteOffset: n + i, as: SIMD32<UInt8>.self))
                dst.storeBytes(of: lo | (hi &<< 8), toByteOffset: 2 * i, as: SIMD32<UInt16>.self)
                i += 32
            }
            scalarUnshuffle(src, into: dst, from: i, count: n, elementSize: 2)
        case 4:
            var i = 0
            while i + 16 <= n {
                var v = SIMD16<UInt32>(truncatingIfNeeded: src.loadUnaligned(fromByteOffset: i, as: SIMD16<UInt8>.self))
                v |= SIMD16<UInt32>(truncatingIfNeeded: src.loadUnaligned(fromByteOffset: n + i, as: SIMD16<UInt8>.self)) &<< 8
                v |= SIMD16<UInt32>(truncatingIfNeeded: src.loadUnaligned(fromByteOffset: 2 * n + i, as: SIMD16<UInt8>.self)) &<< 16
                v |= SIMD16<UInt32>(truncatingIfNeeded: src.loadUnaligned(fromByteOffset: 3 * n + i, as: SIMD16<UInt8>.self)) &<< 24
                dst.storeBytes(of: v, toByteOffset: 4 * i, as: SIMD16<UInt32>.self)
                i += 16
            }
            scalarUnshuffle(src, into: dst, from: i, count: n, elementSize: 4)
        default:
            scalarUnshuffle(src, into: dst, from: 0, count: n, elementSize: s)
        }
    }

    private static func scalarShuffle(_ src: UnsafeRawPointer, into dst: UnsafeMutableRawPointer, from start: Int, count n: Int, elementSize s: Int) {
        let input = src.assumingMemoryBound(to: UInt8.self)
        let output = dst.assumingMemoryBound(to: UInt8.self)
        for i in start..<n {
            for j in 0..<s { output[j * n + i] = input[i * s + j] }
        }
    }

    private static func scalarUnshuffle(_ src: UnsafeRawPointer, into dst: UnsafeMutableRawPointer, from start: Int, count n: Int, elementSize s: Int) {
        let input = src.assumingMemoryBound(to: UInt8.self)
        let output = dst.assumingMemoryBound(to: UInt8.self)
        for i in start..<n {
            for j in 0..<s { output[i * s + j] = input[j * n + i] }
        }
    }
}

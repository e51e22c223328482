#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// Integer multiply-add of 16-bit lanes in adjacent pairs, the core of the int8 score dot product.
enum PairedMultiplyAdd {
    /// `result[i] = a[2i] * b[2i] + a[2i+1] * b[2i+1]` in `Int32` (exact: no product pair can
    /// overflow). One `vpmaddwd` on x86-64; LLVM splits the portable expression into two.
    @inline(__always)
    static func apply(_ a: SIMD16<Int16>, _ b: SIMD16<Int16>) -> SIMD8<Int32> {
        #if arch(x86_64)
        unsafeBitCast(
            _mm256_madd_epi16(unsafeBitCast(a, to: __m256i.self), unsafeBitCast(b, to: __m256i.self)),
            to: SIMD8<Int32>.self
        )
        #else
        let aw = unsafeBitCast(a, to: SIMD8<Int32>.self)
        let bw = unsafeBitCast(b, to: SIMD8<Int32>.self)
        return ((aw &<< 16) &>> 16) &* ((bw &<< 16) &>> 16) &+ (aw &>> 16) &* (bw &>> 16)
        #endif
    }

    /// The signed bytes at even and at odd positions of 32 bytes, each widened to 16 bits:
    /// `(even[i], odd[i]) = (bytes[2i], bytes[2i+1])`.
    @inline(__always)
    static func splitBytes(_ pointer: UnsafeRawPointer) -> (even: SIMD16<Int16>, odd: SIMD16<Int16>) {
        let words = pointer.loadUnaligned(as: SIMD16<Int16>.self)
        return ((words &<< 8) &>> 8, words &>> 8)
    }

    /// The signed bytes `0..<16` at `a` and at `b` widened to 16 bits and interleaved, in the order
    /// of 128-bit halves (`vpmovsxbw` then `vpunpcklwd`/`vpunpckhwd`): `low` holds the pairs
    /// `(a[i], b[i])` for `i` in `0..<4` then `8..<12`, `high` for `4..<8` then `12..<16`. Against a
    /// pair of weights in every 32-bit lane, `apply` then gives `wa * a[i] + wb * b[i]` for 8
    /// elements in that order; `unpermute` restores element order.
    @inline(__always)
    static func interleave(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer) -> (low: SIMD16<Int16>, high: SIMD16<Int16>) {
        #if arch(x86_64)
        let x = _mm256_cvtepi8_epi16(unsafeBitCast(a.loadUnaligned(as: SIMD16<Int8>.self), to: __m128i.self))
        let y = _mm256_cvtepi8_epi16(unsafeBitCast(b.loadUnaligned(as: SIMD16<Int8>.self), to: __m128i.self))
        return (
            unsafeBitCast(_mm256_unpacklo_epi16(x, y), to: SIMD16<Int16>.self),
            unsafeBitCast(_mm256_unpackhi_epi16(x, y), to: SIMD16<Int16>.self)
        )
        #else
        var low = SIMD16<Int16>()
        var high = SIMD16<Int16>()
        for lane in 0..<8 {
            let i = lane % 4 + lane / 4 * 8
            low[2 * lane] = Int16(a.load(fromByteOffset: i, as: Int8.self))
            low[2 * lane + 1] = Int16(b.load(fromByteOffset: i, as: Int8.self))
            high[2 * lane] = Int16(a.load(fromByteOffset: i + 4, as: Int8.self))
            high[2 * lane + 1] = Int16(b.load(fromByteOffset: i + 4, as: Int8.self))
        }
        return (low, high)
        #endif
    }

    /// Elements `0..<8` and `8..<16` in order from sums laid out as `interleave` pairs them:
    /// `low` holds elements 0–3 and 8–11, `high` 4–7 and 12–15.
    @inline(__always)
    static func unpermute<T: SIMDScalar>(low: SIMD8<T>, high: SIMD8<T>) -> (first: SIMD8<T>, second: SIMD8<T>) {
        (SIMD8(lowHalf: low.lowHalf, highHalf: high.lowHalf), SIMD8(lowHalf: low.highHalf, highHalf: high.highHalf))
    }
}

#if AVX512_VNNI
import _Builtin_intrinsics.intel

/// Integer multiply-add of 8-bit lanes in groups of four (AVX-512 VNNI `vpdpbusd`), the core of the
/// int8 value pass on CPUs that have it: 32 multiply-adds per 256-bit instruction, against 16 for
/// `PairedMultiplyAdd`.
enum QuadMultiplyAdd {
    /// `sums[i] + Σ_j weights.byte[4i+j] * values.byte[4i+j]` for each 32-bit lane `i`, with unsigned
    /// weight bytes and signed value bytes, in `Int32` (wrapping; no caller comes near overflow).
    @inline(__always)
    static func apply(_ sums: SIMD8<Int32>, _ weights: SIMD8<Int32>, _ values: SIMD8<Int32>) -> SIMD8<Int32> {
        // The unmasked `_mm256_dpbusd_epi32` is a C macro, which Swift cannot import; with every
        // lane selected, LLVM emits the plain `vpdpbusd`.
        unsafeBitCast(
            _mm256_mask_dpbusd_epi32(
                unsafeBitCast(sums, to: __m256i.self),
                0xFF,
                unsafeBitCast(weights, to: __m256i.self),
                unsafeBitCast(values, to: __m256i.self)
            ),
            to: SIMD8<Int32>.self
        )
    }

    /// The bytes `0..<32` of the four rows at `a`, `b`, `c` and `d`, interleaved so that each 32-bit
    /// lane holds one element of all four rows, `(a[i], b[i], c[i], d[i])`, in the order of 128-bit
    /// halves (byte then word unpacks): vector `j` holds elements `4j..<4j+4` in lanes 0–3 and
    /// `16+4j..<16+4j+4` in lanes 4–7. Against four weights in every lane, `apply` then adds the
    /// four rows' weighted contributions to 8 elements; `unpermute` restores element order.
    @inline(__always)
    static func interleave(
        _ a: UnsafeRawPointer,
        _ b: UnsafeRawPointer,
        _ c: UnsafeRawPointer,
        _ d: UnsafeRawPointer
    ) -> (SIMD8<Int32>, SIMD8<Int32>, SIMD8<Int32>, SIMD8<Int32>) {
        @inline(__always) func row(_ p: UnsafeRawPointer) -> __m256i {
            unsafeBitCast(p.loadUnaligned(as: SIMD32<Int8>.self), to: __m256i.self)
        }
        @inline(__always) func lanes(_ x: __m256i) -> SIMD8<Int32> { unsafeBitCast(x, to: SIMD8<Int32>.self) }
        let ra = row(a)
        let rb = row(b)
        let rc = row(c)
        let rd = row(d)
        let abLow = _mm256_unpacklo_epi8(ra, rb)
        let abHigh = _mm256_unpackhi_epi8(ra, rb)
        let cdLow = _mm256_unpacklo_epi8(rc, rd)
        let cdHigh = _mm256_unpackhi_epi8(rc, rd)
        return (
            lanes(_mm256_unpacklo_epi16(abLow, cdLow)), lanes(_mm256_unpackhi_epi16(abLow, cdLow)),
            lanes(_mm256_unpacklo_epi16(abHigh, cdHigh)), lanes(_mm256_unpackhi_epi16(abHigh, cdHigh))
        )
    }

    /// Elements `0..<32` in order from the four sum vectors laid out as `interleave` groups them:
    /// vector `j` holds elements `4j..<4j+4` then `16+4j..<16+4j+4`.
    @inline(__always)
    static func unpermute<T: SIMDScalar>(
        _ s0: SIMD8<T>,
        _ s1: SIMD8<T>,
        _ s2: SIMD8<T>,
        _ s3: SIMD8<T>
    ) -> (SIMD8<T>, SIMD8<T>, SIMD8<T>, SIMD8<T>) {
        (
            SIMD8(lowHalf: s0.lowHalf, highHalf: s1.lowHalf), SIMD8(lowHalf: s2.lowHalf, highHalf: s3.lowHalf),
            SIMD8(lowHalf: s0.highHalf, highHalf: s1.highHalf), SIMD8(lowHalf: s2.highHalf, highHalf: s3.highHalf)
        )
    }
}
#endif

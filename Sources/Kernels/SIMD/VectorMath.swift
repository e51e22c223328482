#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// Elementwise transcendental functions on `SIMD16<Float>` built from FMAs and bit operations,
/// so that softmax never calls scalar libm, and lane conversions that compile to one instruction.
enum VectorMath {
    /// Each lane converted to `Float` (`vcvtdq2ps`). Written lane by lane: the generic SIMD
    /// initializer is an out-of-line call.
    @inline(__always)
    static func float(_ x: SIMD8<Int32>) -> SIMD8<Float> {
        SIMD8(Float(x[0]), Float(x[1]), Float(x[2]), Float(x[3]), Float(x[4]), Float(x[5]), Float(x[6]), Float(x[7]))
    }

    /// Each lane converted to `Float` (`vcvtdq2ps`).
    @inline(__always)
    static func float(_ x: SIMD4<Int32>) -> SIMD4<Float> {
        SIMD4(Float(x[0]), Float(x[1]), Float(x[2]), Float(x[3]))
    }

    /// Each lane rounded to the nearest integer (ties to even) and saturated to `Int16`; a lane that
    /// is NaN, infinite or outside the range of `Int32` gives 0 (`vcvtps2dq`, which turns exactly
    /// those lanes into `Int32.min`, then a compare, a mask and `vpackssdw` on x86-64).
    @inline(__always)
    static func int16(_ x: SIMD16<Float>) -> SIMD16<Int16> {
        #if arch(x86_64)
        @inline(__always) func converted(_ v: SIMD8<Float>) -> __m256i {
            let c = _mm256_cvtps_epi32(v)
            return _mm256_andnot_si256(_mm256_cmpeq_epi32(c, _mm256_set1_epi32(Int32.min)), c)
        }
        // `vpackssdw` packs within 128-bit halves, so its inputs are lanes [0-3, 8-11] and [4-7, 12-15].
        let first = SIMD8(lowHalf: x.lowHalf.lowHalf, highHalf: x.highHalf.lowHalf)
        let second = SIMD8(lowHalf: x.lowHalf.highHalf, highHalf: x.highHalf.highHalf)
        return unsafeBitCast(_mm256_packs_epi32(converted(first), converted(second)), to: SIMD16<Int16>.self)
        #else
        var result = SIMD16<Int16>()
        for i in 0..<16 where x[i].isFinite && x[i].magnitude < 2_147_483_648 {
            result[i] = Int16(min(32767, max(-32768, x[i].rounded(.toNearestOrEven))))
        }
        return result
        #endif
    }

    /// `a * b + c` for each lane, rounded once (`vfmadd` on x86-64). The standard library's
    /// `addingProduct` is a lane loop that LLVM re-vectorises only in part, leaving some lanes
    /// scalar; long FMA chains use this instead.
    @inline(__always)
    static func fma(_ a: SIMD8<Float>, _ b: SIMD8<Float>, _ c: SIMD8<Float>) -> SIMD8<Float> {
        #if arch(x86_64)
        _mm256_fmadd_ps(a, b, c)
        #else
        c.addingProduct(a, b)
        #endif
    }

    /// `e^x` for each lane, relative error below 3e-7 on `[-87, 88]`: `x = n ln 2 + r` with
    /// `|r| <= ln 2 / 2` (ln 2 split in two for accuracy), then `2^n · 2^(r / ln 2)` by
    /// `scaledPowerOfTwo`. Lanes below -88 (including `-infinity`) give 0 or a value below
    /// 2^-126; lanes above 88 saturate at `e^88`; NaN stays NaN.
    @inline(__always)
    static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let clamped = minimum(maximum(x, SIMD8(repeating: -88)), SIMD8(repeating: 88))
        let shifted = fma(clamped, SIMD8(repeating: log2e), SIMD8(repeating: roundingBias))
        let n = shifted - SIMD8(repeating: roundingBias)
        var r = fma(n, SIMD8(repeating: -0.693_359_375), clamped)
        r = fma(n, SIMD8(repeating: 2.121_944_4e-4), r)
        return scaledPowerOfTwo(shifted: shifted, fraction: r * SIMD8(repeating: log2e))
    }

    /// `e^(x - m)` for each lane, the softmax weight of score `x` under row maximum `m`, given
    /// `shift = exponentShift(maximum: m)`: `2^(x·log2(e) + shift)`, one FMA and `exp2`, fewer
    /// operations than `exp` (no range reduction by ln 2). The relative error grows by about 1e-7
    /// per unit of `|x| + |m|` (the roundings of `x·log2(e)` and of the shift; the shift's is the
    /// same for every score of a row, so it cancels when the row is normalised). A shift of
    /// `-infinity` gives 0 for every score that is not NaN or `+infinity`.
    @inline(__always)
    static func exp(_ x: SIMD8<Float>, shift: SIMD8<Float>) -> SIMD8<Float> {
        exp2(fma(x, SIMD8(repeating: log2e), shift))
    }

    /// The shift for `exp(_:shift:)` that subtracts the maximum `m`: `-m · log2(e)`.
    @inline(__always)
    static func exponentShift(maximum m: Float) -> Float {
        -m * log2e
    }

    /// `exponentShift` on four lanes.
    @inline(__always)
    static func exponentShift(maximum m: SIMD4<Float>) -> SIMD4<Float> {
        -m * SIMD4(repeating: log2e)
    }

    /// `2^t` for each lane, relative error below 3e-7 on `[-126, 127]`. Lanes below -127
    /// (including `-infinity`) give 0 or a value below 2^-126; lanes above 127 saturate at
    /// `2^127`; NaN stays NaN.
    @inline(__always)
    static func exp2(_ t: SIMD8<Float>) -> SIMD8<Float> {
        let clamped = minimum(maximum(t, SIMD8(repeating: -127)), SIMD8(repeating: 127))
        let shifted = clamped + SIMD8(repeating: roundingBias)
        return scaledPowerOfTwo(shifted: shifted, fraction: clamped - (shifted - SIMD8(repeating: roundingBias)))
    }

    /// log2(e), the factor that turns a natural exponent into a binary one.
    private static let log2e: Float = 1.442_695_04

    /// 1.5 · 2^23 + 127: added to a value `t` in `[-127, 128)`, it leaves `round(t) + 127` (ties to
    /// even) in the low mantissa bits of the sum, the biased exponent of `2^round(t)`.
    private static let roundingBias: Float = 12_583_039

    /// `2^n · 2^f`, where `shifted` holds `n + 127` in its low mantissa bits (see `roundingBias`)
    /// and `|f| <= 1/2`: `2^f` by a degree-5 polynomial fitted for relative error (1.8e-7 in
    /// `Float` arithmetic), evaluated in pairs of terms for a short chain of dependent operations,
    /// and `2^n` built from its exponent bits (0 for `n = -127`).
    @inline(__always)
    private static func scaledPowerOfTwo(shifted: SIMD8<Float>, fraction f: SIMD8<Float>) -> SIMD8<Float> {
        let f2 = f * f
        let high = fma(SIMD8(repeating: 1.326_474_011_875_689e-3), f, SIMD8(repeating: 9.671_512_991_189_957e-3))
        let middle = fma(SIMD8(repeating: 5.550_733_581_185_341e-2), f, SIMD8(repeating: 2.402_224_242_687_225_3e-1))
        let polynomial = fma(fma(high, f2, middle), f2, f * SIMD8(repeating: 6.931_470_036_506_653e-1))
        let power = unsafeBitCast(unsafeBitCast(shifted, to: SIMD8<Int32>.self) &<< 23, to: SIMD8<Float>.self)
        return fma(polynomial, power, power)
    }

    /// `exp` on sixteen lanes, as two halves.
    @inline(__always)
    static func exp(_ x: SIMD16<Float>) -> SIMD16<Float> {
        SIMD16(lowHalf: exp(x.lowHalf), highHalf: exp(x.highHalf))
    }

    /// `tanh(x)` for each lane as `1 - 2 / (e^{2x} + 1)`: absolute error below 3e-7, exactly ±1
    /// for large |x|.
    @inline(__always)
    static func tanh(_ x: SIMD16<Float>) -> SIMD16<Float> {
        1 - 2 / (exp(x + x) + 1)
    }

    /// Lane-wise maximum; a NaN in `a` is kept and a NaN in `b` ignored (`pointwiseMax` also
    /// orders NaNs, at several times the cost). On x86-64 one `vmaxps` with its operands swapped,
    /// which has exactly these NaN rules; elsewhere a compare and blend. Concrete types, not a
    /// generic: generic SIMD code is not vectorised.
    @inline(__always)
    static func maximum(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
        SIMD16(lowHalf: maximum(a.lowHalf, b.lowHalf), highHalf: maximum(a.highHalf, b.highHalf))
    }

    /// `maximum` on eight lanes.
    @inline(__always)
    static func maximum(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
        #if arch(x86_64)
        _mm256_max_ps(b, a)
        #else
        a.replacing(with: b, where: b .> a)
        #endif
    }

    /// Lane-wise minimum with the same NaN rules as `maximum` (a NaN in `a` is kept).
    @inline(__always)
    static func minimum(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
        #if arch(x86_64)
        _mm256_min_ps(b, a)
        #else
        a.replacing(with: b, where: b .< a)
        #endif
    }

    /// `maximum` on four lanes.
    @inline(__always)
    static func maximum(_ a: SIMD4<Float>, _ b: SIMD4<Float>) -> SIMD4<Float> {
        #if arch(x86_64)
        _mm_max_ps(b, a)
        #else
        a.replacing(with: b, where: b .> a)
        #endif
    }

    /// `maximum` on two lanes.
    @inline(__always)
    static func maximum(_ a: SIMD2<Float>, _ b: SIMD2<Float>) -> SIMD2<Float> {
        a.replacing(with: b, where: b .> a)
    }

    /// The largest lane, by a halving tree.
    @inline(__always)
    static func horizontalMax(_ x: SIMD16<Float>) -> Float {
        horizontalMax(maximum(x.lowHalf, x.highHalf))
    }

    /// `horizontalMax` on eight lanes.
    @inline(__always)
    static func horizontalMax(_ m8: SIMD8<Float>) -> Float {
        let m4 = maximum(m8.lowHalf, m8.highHalf)
        let m2 = maximum(m4.lowHalf, m4.highHalf)
        return Swift.max(m2[0], m2[1])
    }

    /// The sum of eight lanes, by a halving tree (a fixed order, so results are reproducible).
    @inline(__always)
    static func horizontalSum(_ s8: SIMD8<Float>) -> Float {
        let s4 = s8.lowHalf + s8.highHalf
        let s2 = s4.lowHalf + s4.highHalf
        return s2[0] + s2[1]
    }

    /// The lane sums of four vectors, `[Σa, Σb, Σc, Σd]`, by a fixed transposed tree: pairs of
    /// lanes two apart, then the two pairs of each 128-bit half, then the halves (unpacks, shuffles
    /// and adds on x86-64).
    @inline(__always)
    static func laneSums(_ a: SIMD8<Float>, _ b: SIMD8<Float>, _ c: SIMD8<Float>, _ d: SIMD8<Float>) -> SIMD4<Float> {
        #if arch(x86_64)
        // [a0+a2, b0+b2, a1+a3, b1+b3 | a4+a6, b4+b6, a5+a7, b5+b7], and the same for c and d.
        let ab = _mm256_add_ps(_mm256_unpacklo_ps(a, b), _mm256_unpackhi_ps(a, b))
        let cd = _mm256_add_ps(_mm256_unpacklo_ps(c, d), _mm256_unpackhi_ps(c, d))
        // [Σa0..3, Σb0..3, Σc0..3, Σd0..3 | Σa4..7, Σb4..7, Σc4..7, Σd4..7]
        let abPairs = unsafeBitCast(ab, to: __m256d.self)
        let cdPairs = unsafeBitCast(cd, to: __m256d.self)
        let halves =
            unsafeBitCast(_mm256_unpacklo_pd(abPairs, cdPairs), to: SIMD8<Float>.self)
            + unsafeBitCast(_mm256_unpackhi_pd(abPairs, cdPairs), to: SIMD8<Float>.self)
        return halves.lowHalf + halves.highHalf
        #else
        @inline(__always) func sum(_ x: SIMD8<Float>) -> Float {
            ((x[0] + x[2]) + (x[1] + x[3])) + ((x[4] + x[6]) + (x[5] + x[7]))
        }
        return SIMD4(sum(a), sum(b), sum(c), sum(d))
        #endif
    }

    /// `laneSums` on `Int32` lanes (wrapping), by the same tree. (`vphaddd` does a round in one
    /// instruction but takes two cycles of a shuffle unit for it.)
    @inline(__always)
    static func laneSums(_ a: SIMD8<Int32>, _ b: SIMD8<Int32>, _ c: SIMD8<Int32>, _ d: SIMD8<Int32>) -> SIMD4<Int32> {
        #if arch(x86_64)
        @inline(__always) func vector(_ x: SIMD8<Int32>) -> __m256i { unsafeBitCast(x, to: __m256i.self) }
        @inline(__always) func lanes(_ x: __m256i) -> SIMD8<Int32> { unsafeBitCast(x, to: SIMD8<Int32>.self) }
        let ab =
            lanes(_mm256_unpacklo_epi32(vector(a), vector(b))) &+ lanes(_mm256_unpackhi_epi32(vector(a), vector(b)))
        let cd =
            lanes(_mm256_unpacklo_epi32(vector(c), vector(d))) &+ lanes(_mm256_unpackhi_epi32(vector(c), vector(d)))
        let halves =
            lanes(_mm256_unpacklo_epi64(vector(ab), vector(cd))) &+ lanes(_mm256_unpackhi_epi64(vector(ab), vector(cd)))
        return halves.lowHalf &+ halves.highHalf
        #else
        return SIMD4(a.wrappedSum(), b.wrappedSum(), c.wrappedSum(), d.wrappedSum())
        #endif
    }

    /// Stores the 8 × 8 block whose row `i` is `ri` transposed: column `i` (element `i` of every
    /// row) at `destination + i * stride`. Three rounds of in-register shuffles on x86-64.
    @inline(__always)
    static func storeTransposed(
        _ r0: SIMD8<Float>,
        _ r1: SIMD8<Float>,
        _ r2: SIMD8<Float>,
        _ r3: SIMD8<Float>,
        _ r4: SIMD8<Float>,
        _ r5: SIMD8<Float>,
        _ r6: SIMD8<Float>,
        _ r7: SIMD8<Float>,
        to destination: UnsafeMutablePointer<Float>,
        stride: Int
    ) {
        #if arch(x86_64)
        func d(_ x: __m256) -> __m256d { unsafeBitCast(x, to: __m256d.self) }
        func f(_ x: __m256d) -> SIMD8<Float> { unsafeBitCast(x, to: SIMD8<Float>.self) }
        // Pairs of rows interleaved, then pairs of pairs: u_k holds columns k and k + 4 of 4 rows.
        let t0 = _mm256_unpacklo_ps(r0, r1)
        let t1 = _mm256_unpackhi_ps(r0, r1)
        let t2 = _mm256_unpacklo_ps(r2, r3)
        let t3 = _mm256_unpackhi_ps(r2, r3)
        let t4 = _mm256_unpacklo_ps(r4, r5)
        let t5 = _mm256_unpackhi_ps(r4, r5)
        let t6 = _mm256_unpacklo_ps(r6, r7)
        let t7 = _mm256_unpackhi_ps(r6, r7)
        let u0 = f(_mm256_unpacklo_pd(d(t0), d(t2)))
        let u1 = f(_mm256_unpackhi_pd(d(t0), d(t2)))
        let u2 = f(_mm256_unpacklo_pd(d(t1), d(t3)))
        let u3 = f(_mm256_unpackhi_pd(d(t1), d(t3)))
        let u4 = f(_mm256_unpacklo_pd(d(t4), d(t6)))
        let u5 = f(_mm256_unpackhi_pd(d(t4), d(t6)))
        let u6 = f(_mm256_unpacklo_pd(d(t5), d(t7)))
        let u7 = f(_mm256_unpackhi_pd(d(t5), d(t7)))
        let raw = UnsafeMutableRawPointer(destination)
        let rowBytes = stride * MemoryLayout<Float>.size
        raw.storeBytes(of: SIMD8(lowHalf: u0.lowHalf, highHalf: u4.lowHalf), as: SIMD8<Float>.self)
        raw.storeBytes(
            of: SIMD8(lowHalf: u1.lowHalf, highHalf: u5.lowHalf),
            toByteOffset: rowBytes,
            as: SIMD8<Float>.self
        )
        raw.storeBytes(
            of: SIMD8(lowHalf: u2.lowHalf, highHalf: u6.lowHalf),
            toByteOffset: 2 * rowBytes,
            as: SIMD8<Float>.self
        )
        raw.storeBytes(
            of: SIMD8(lowHalf: u3.lowHalf, highHalf: u7.lowHalf),
            toByteOffset: 3 * rowBytes,
            as: SIMD8<Float>.self
        )
        raw.storeBytes(
            of: SIMD8(lowHalf: u0.highHalf, highHalf: u4.highHalf),
            toByteOffset: 4 * rowBytes,
            as: SIMD8<Float>.self
        )
        raw.storeBytes(
            of: SIMD8(lowHalf: u1.highHalf, highHalf: u5.highHalf),
            toByteOffset: 5 * rowBytes,
            as: SIMD8<Float>.self
        )
        raw.storeBytes(
            of: SIMD8(lowHalf: u2.highHalf, highHalf: u6.highHalf),
            toByteOffset: 6 * rowBytes,
            as: SIMD8<Float>.self
        )
        raw.storeBytes(
            of: SIMD8(lowHalf: u3.highHalf, highHalf: u7.highHalf),
            toByteOffset: 7 * rowBytes,
            as: SIMD8<Float>.self
        )
        #else
        let rows = [r0, r1, r2, r3, r4, r5, r6, r7]
        for i in 0..<8 {
            for j in 0..<8 { destination[i * stride + j] = rows[j][i] }
        }
        #endif
    }

    /// `x` with the lanes whose index `offset + i` lies outside `first...last` set to `-infinity`.
    @inline(__always)
    static func maskOutside(_ x: SIMD16<Float>, offset: Float, first: Float, last: Float) -> SIMD16<Float> {
        let lane = SIMD16<Float>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) + offset
        return x.replacing(with: -.infinity, where: (lane .< first) .| (lane .> last))
    }
}

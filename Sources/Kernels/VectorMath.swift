/// Elementwise transcendental functions on `SIMD16<Float>` built from FMAs and bit operations,
/// so that softmax never calls scalar libm, and lane conversions that compile to one instruction.
enum VectorMath {
    /// Each lane converted to `Float` (`vcvtdq2ps`). Written lane by lane: the generic SIMD
    /// initializer is an out-of-line call.
    @inline(__always)
    static func float(_ x: SIMD8<Int32>) -> SIMD8<Float> {
        SIMD8(Float(x[0]), Float(x[1]), Float(x[2]), Float(x[3]), Float(x[4]), Float(x[5]), Float(x[6]), Float(x[7]))
    }

    /// `e^x` for each lane (Cephes-style degree-6 polynomial after range reduction by ln 2), relative
    /// error below 3e-7 on `[-87, 88]`. Lanes below -88 (including `-infinity`) give 0 or a
    /// value below 2^-126; lanes above 88 saturate at `e^88`.
    @inline(__always)
    static func exp(_ x: SIMD16<Float>) -> SIMD16<Float> {
        let clamped = x.replacing(with: -88, where: .!(x .>= -88)).replacing(with: 88, where: x .> 88)
        // n = round(x / ln 2) with the 1.5 * 2^23 trick: the low mantissa bits of `shifted` hold n.
        let magic = SIMD16<Float>(repeating: 12_582_912)
        let shifted = magic.addingProduct(clamped, SIMD16(repeating: 1.442_695_04))
        let n = shifted - magic
        // r = x - n ln 2, with ln 2 split in two for accuracy.
        var r = clamped.addingProduct(n, SIMD16(repeating: -0.693_359_375))
        r.addProduct(n, SIMD16(repeating: 2.121_944_4e-4))
        var p = SIMD16<Float>(repeating: 1.987_569_15e-4)
        p = SIMD16(repeating: 1.398_199_950_7e-3).addingProduct(p, r)
        p = SIMD16(repeating: 8.333_451_907_3e-3).addingProduct(p, r)
        p = SIMD16(repeating: 4.166_579_589_4e-2).addingProduct(p, r)
        p = SIMD16(repeating: 1.666_666_545_9e-1).addingProduct(p, r)
        p = SIMD16(repeating: 5.000_000_120_1e-1).addingProduct(p, r)
        let y = (r + 1).addingProduct(p * r, r)
        let bits = unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- 0x4B40_0000
        let power = unsafeBitCast((bits &+ 127) &<< 23, to: SIMD16<Float>.self)
        return y * power
    }

    /// `tanh(x)` for each lane as `1 - 2 / (e^{2x} + 1)`: absolute error below 3e-7, exactly ±1
    /// for large |x|.
    @inline(__always)
    static func tanh(_ x: SIMD16<Float>) -> SIMD16<Float> {
        1 - 2 / (exp(x + x) + 1)
    }

    /// Lane-wise maximum as one compare and blend (`pointwiseMax` also orders NaNs, at several times
    /// the cost); a NaN in `a` is kept. Concrete types, not a generic: generic SIMD code is not
    /// vectorised.
    @inline(__always)
    static func maximum(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
        a.replacing(with: b, where: b .> a)
    }

    /// `maximum` on eight lanes.
    @inline(__always)
    static func maximum(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
        a.replacing(with: b, where: b .> a)
    }

    /// `maximum` on four lanes.
    @inline(__always)
    static func maximum(_ a: SIMD4<Float>, _ b: SIMD4<Float>) -> SIMD4<Float> {
        a.replacing(with: b, where: b .> a)
    }

    /// `maximum` on two lanes.
    @inline(__always)
    static func maximum(_ a: SIMD2<Float>, _ b: SIMD2<Float>) -> SIMD2<Float> {
        a.replacing(with: b, where: b .> a)
    }

    /// The largest lane, by a halving tree.
    @inline(__always)
    static func horizontalMax(_ x: SIMD16<Float>) -> Float {
        let m8 = maximum(x.lowHalf, x.highHalf)
        let m4 = maximum(m8.lowHalf, m8.highHalf)
        let m2 = maximum(m4.lowHalf, m4.highHalf)
        return Swift.max(m2[0], m2[1])
    }

    /// The sum of the lanes, by a halving tree (a fixed order, so results are reproducible).
    @inline(__always)
    static func horizontalSum(_ x: SIMD16<Float>) -> Float {
        let s8 = x.lowHalf + x.highHalf
        let s4 = s8.lowHalf + s8.highHalf
        let s2 = s4.lowHalf + s4.highHalf
        return s2[0] + s2[1]
    }

    /// `x` with the lanes whose index `offset + i` lies outside `first...last` set to `-infinity`.
    @inline(__always)
    static func maskOutside(_ x: SIMD16<Float>, offset: Float, first: Float, last: Float) -> SIMD16<Float> {
        let lane = SIMD16<Float>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) + offset
        return x.replacing(with: -.infinity, where: (lane .< first) .| (lane .> last))
    }
}

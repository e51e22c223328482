/// The register-blocked inner loops of the tiled attention kernel, on packed `Float` tiles.
///
/// Key tiles are `keyTile` (64) keys wide. `scores` reads K transposed (`[d][64]`: one `SIMD8` load
/// covers 8 keys of one dimension) and broadcasts q; `accumulate` reads V rows as `SIMD8` chunks
/// along the head dimension and broadcasts the softmax weights. Both keep a 6 × 16 block of
/// accumulators (12 vector registers) so that they fit the 16 registers of AVX2 with room for
/// the operands.
enum TileMicroKernels {
    /// Keys per tile.
    static let keyTile = 64
    /// Query rows per register block.
    static let rowBlock = 6

    @inline(__always)
    static func load8(_ pointer: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(pointer).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always)
    static func store8(_ value: SIMD8<Float>, _ pointer: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(pointer).storeBytes(of: value, as: SIMD8<Float>.self)
    }

    @inline(__always)
    static func load(_ pointer: UnsafePointer<Float>) -> SIMD16<Float> {
        UnsafeRawPointer(pointer).loadUnaligned(as: SIMD16<Float>.self)
    }

    @inline(__always)
    static func store(_ value: SIMD16<Float>, _ pointer: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(pointer).storeBytes(of: value, as: SIMD16<Float>.self)
    }

    /// `s[r][k] = Σ_d q[r][d] * kt[d][k]` for 6 rows (`q` rows `queryStride` apart) and the keys
    /// `columns` (whole 16-key groups) of a transposed 64-key tile with `depth` dimensions; `s` rows
    /// are 64 apart. Other columns of `s` are left as they were.
    static func scores(
        q: UnsafePointer<Float>,
        queryStride: Int,
        kt: UnsafePointer<Float>,
        depth: Int,
        s: UnsafeMutablePointer<Float>,
        columns: Range<Int>
    ) {
        for column in stride(from: columns.lowerBound, to: columns.upperBound, by: 16) {
            scores16(q: q, queryStride: queryStride, kt: kt + column, depth: depth, s: s + column)
        }
    }

    @inline(__always)
    private static func scores16(
        q: UnsafePointer<Float>,
        queryStride: Int,
        kt: UnsafePointer<Float>,
        depth: Int,
        s: UnsafeMutablePointer<Float>
    ) {
        var c00 = SIMD8<Float>()
        var c01 = SIMD8<Float>()
        var c10 = SIMD8<Float>()
        var c11 = SIMD8<Float>()
        var c20 = SIMD8<Float>()
        var c21 = SIMD8<Float>()
        var c30 = SIMD8<Float>()
        var c31 = SIMD8<Float>()
        var c40 = SIMD8<Float>()
        var c41 = SIMD8<Float>()
        var c50 = SIMD8<Float>()
        var c51 = SIMD8<Float>()
        let q0 = q
        let q1 = q + queryStride
        let q2 = q + 2 * queryStride
        let q3 = q + 3 * queryStride
        let q4 = q + 4 * queryStride
        let q5 = q + 5 * queryStride
        var k = kt
        for d in 0..<depth {
            let k0 = load8(k)
            let k1 = load8(k + 8)
            let b0 = SIMD8(repeating: q0[d])
            let b1 = SIMD8(repeating: q1[d])
            let b2 = SIMD8(repeating: q2[d])
            c00.addProduct(b0, k0)
            c01.addProduct(b0, k1)
            c10.addProduct(b1, k0)
            c11.addProduct(b1, k1)
            c20.addProduct(b2, k0)
            c21.addProduct(b2, k1)
            let b3 = SIMD8(repeating: q3[d])
            let b4 = SIMD8(repeating: q4[d])
            let b5 = SIMD8(repeating: q5[d])
            c30.addProduct(b3, k0)
            c31.addProduct(b3, k1)
            c40.addProduct(b4, k0)
            c41.addProduct(b4, k1)
            c50.addProduct(b5, k0)
            c51.addProduct(b5, k1)
            k += 64
        }
        store8(c00, s)
        store8(c01, s + 8)
        store8(c10, s + 64)
        store8(c11, s + 72)
        store8(c20, s + 128)
        store8(c21, s + 136)
        store8(c30, s + 192)
        store8(c31, s + 200)
        store8(c40, s + 256)
        store8(c41, s + 264)
        store8(c50, s + 320)
        store8(c51, s + 328)
    }

    /// `o[r][c] = alpha[r] * o[r][c] + Σ_{j < keys} p[r][j] * v[j][c]` for 6 rows and the 16
    /// columns `c` starting at `o` / `v`; `p` rows are 64 apart, `o` rows and `v` rows `stride` apart.
    static func accumulate16(
        p: UnsafePointer<Float>,
        alpha: UnsafePointer<Float>,
        v: UnsafePointer<Float>,
        keys: Int,
        o: UnsafeMutablePointer<Float>,
        stride: Int
    ) {
        let o0 = o
        let o1 = o + stride
        let o2 = o + 2 * stride
        let o3 = o + 3 * stride
        let o4 = o + 4 * stride
        let o5 = o + 5 * stride
        let a0 = SIMD8(repeating: alpha[0])
        let a1 = SIMD8(repeating: alpha[1])
        let a2 = SIMD8(repeating: alpha[2])
        let a3 = SIMD8(repeating: alpha[3])
        let a4 = SIMD8(repeating: alpha[4])
        let a5 = SIMD8(repeating: alpha[5])
        var c00 = load8(o0) * a0
        var c01 = load8(o0 + 8) * a0
        var c10 = load8(o1) * a1
        var c11 = load8(o1 + 8) * a1
        var c20 = load8(o2) * a2
        var c21 = load8(o2 + 8) * a2
        var c30 = load8(o3) * a3
        var c31 = load8(o3 + 8) * a3
        var c40 = load8(o4) * a4
        var c41 = load8(o4 + 8) * a4
        var c50 = load8(o5) * a5
        var c51 = load8(o5 + 8) * a5
        let p0 = p
        let p1 = p + 64
        let p2 = p + 128
        let p3 = p + 192
        let p4 = p + 256
        let p5 = p + 320
        var row = v
        for j in 0..<keys {
            let v0 = load8(row)
            let v1 = load8(row + 8)
            let b0 = SIMD8(repeating: p0[j])
            c00.addProduct(b0, v0)
            c01.addProduct(b0, v1)
            let b1 = SIMD8(repeating: p1[j])
            c10.addProduct(b1, v0)
            c11.addProduct(b1, v1)
            let b2 = SIMD8(repeating: p2[j])
            c20.addProduct(b2, v0)
            c21.addProduct(b2, v1)
            let b3 = SIMD8(repeating: p3[j])
            c30.addProduct(b3, v0)
            c31.addProduct(b3, v1)
            let b4 = SIMD8(repeating: p4[j])
            c40.addProduct(b4, v0)
            c41.addProduct(b4, v1)
            let b5 = SIMD8(repeating: p5[j])
            c50.addProduct(b5, v0)
            c51.addProduct(b5, v1)
            row += stride
        }
        store8(c00, o0)
        store8(c01, o0 + 8)
        store8(c10, o1)
        store8(c11, o1 + 8)
        store8(c20, o2)
        store8(c21, o2 + 8)
        store8(c30, o3)
        store8(c31, o3 + 8)
        store8(c40, o4)
        store8(c41, o4 + 8)
        store8(c50, o5)
        store8(c51, o5 + 8)
    }
}

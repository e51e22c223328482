/// The register-blocked inner loops of the tiled attention kernel, on packed `Float` tiles.
///
/// Key tiles are `keyTile` (64) keys wide. `scores` reads K transposed (`[d][64]`: one `SIMD16` load
/// covers 16 keys of one dimension) and broadcasts q; `accumulate` reads V rows as `SIMD16` chunks
/// along the head dimension and broadcasts the softmax weights. Both keep a 4-row block of
/// accumulators in registers.
enum TileMicroKernels {
    /// Keys per tile.
    static let keyTile = 64
    /// Query rows per register block.
    static let rowBlock = 4

    @inline(__always)
    static func load(_ pointer: UnsafePointer<Float>) -> SIMD16<Float> {
        UnsafeRawPointer(pointer).loadUnaligned(as: SIMD16<Float>.self)
    }

    @inline(__always)
    static func store(_ value: SIMD16<Float>, _ pointer: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(pointer).storeBytes(of: value, as: SIMD16<Float>.self)
    }

    /// `s[r][k] = Σ_d q[r][d] * kt[d][k]` for 4 rows (`q` rows `queryStride` apart) and the 64 keys
    /// of a transposed tile with `depth` dimensions; `s` rows are 64 apart.
    static func scores(
        q: UnsafePointer<Float>, queryStride: Int, kt: UnsafePointer<Float>, depth: Int,
        s: UnsafeMutablePointer<Float>
    ) {
        var c00 = SIMD16<Float>(), c01 = SIMD16<Float>(), c02 = SIMD16<Float>(), c03 = SIMD16<Float>()
        var c10 = SIMD16<Float>(), c11 = SIMD16<Float>(), c12 = SIMD16<Float>(), c13 = SIMD16<Float>()
        var c20 = SIMD16<Float>(), c21 = SIMD16<Float>(), c22 = SIMD16<Float>(), c23 = SIMD16<Float>()
        var c30 = SIMD16<Float>(), c31 = SIMD16<Float>(), c32 = SIMD16<Float>(), c33 = SIMD16<Float>()
        let q0 = q, q1 = q + queryStride, q2 = q + 2 * queryStride, q3 = q + 3 * queryStride
        for d in 0..<depth {
            let k = kt + d * 64
            let k0 = load(k), k1 = load(k + 16), k2 = load(k + 32), k3 = load(k + 48)
            let b0 = SIMD16(repeating: q0[d])
            c00.addProduct(b0, k0); c01.addProduct(b0, k1); c02.addProduct(b0, k2); c03.addProduct(b0, k3)
            let b1 = SIMD16(repeating: q1[d])
            c10.addProduct(b1, k0); c11.addProduct(b1, k1); c12.addProduct(b1, k2); c13.addProduct(b1, k3)
            let b2 = SIMD16(repeating: q2[d])
            c20.addProduct(b2, k0); c21.addProduct(b2, k1); c22.addProduct(b2, k2); c23.addProduct(b2, k3)
            let b3 = SIMD16(repeating: q3[d])
            c30.addProduct(b3, k0); c31.addProduct(b3, k1); c32.addProduct(b3, k2); c33.addProduct(b3, k3)
        }
        store(c00, s); store(c01, s + 16); store(c02, s + 32); store(c03, s + 48)
        store(c10, s + 64); store(c11, s + 80); store(c12, s + 96); store(c13, s + 112)
        store(c20, s + 128); store(c21, s + 144); store(c22, s + 160); store(c23, s + 176)
        store(c30, s + 192); store(c31, s + 208); store(c32, s + 224); store(c33, s + 240)
    }

    /// `o[r][0..<64] = alpha[r] * o[r][0..<64] + Σ_{j < keys} p[r][j] * v[j][0..<64]` for 4 rows;
    /// `p` rows are 64 apart, `o` rows and `v` rows `stride` apart.
    static func accumulate64(
        p: UnsafePointer<Float>, alpha: UnsafePointer<Float>, v: UnsafePointer<Float>, keys: Int,
        o: UnsafeMutablePointer<Float>, stride: Int
    ) {
        let o0 = o, o1 = o + stride, o2 = o + 2 * stride, o3 = o + 3 * stride
        let a0 = SIMD16(repeating: alpha[0]), a1 = SIMD16(repeating: alpha[1])
        let a2 = SIMD16(repeating: alpha[2]), a3 = SIMD16(repeating: alpha[3])
        var c00 = load(o0) * a0, c01 = load(o0 + 16) * a0, c02 = load(o0 + 32) * a0, c03 = load(o0 + 48) * a0
        var c10 = load(o1) * a1, c11 = load(o1 + 16) * a1, c12 = load(o1 + 32) * a1, c13 = load(o1 + 48) * a1
        var c20 = load(o2) * a2, c21 = load(o2 + 16) * a2, c22 = load(o2 + 32) * a2, c23 = load(o2 + 48) * a2
        var c30 = load(o3) * a3, c31 = load(o3 + 16) * a3, c32 = load(o3 + 32) * a3, c33 = load(o3 + 48) * a3
        for j in 0..<keys {
            let row = v + j * stride
            let v0 = load(row), v1 = load(row + 16), v2 = load(row + 32), v3 = load(row + 48)
            let b0 = SIMD16(repeating: p[j])
            c00.addProduct(b0, v0); c01.addProduct(b0, v1); c02.addProduct(b0, v2); c03.addProduct(b0, v3)
            let b1 = SIMD16(repeating: p[64 + j])
            c10.addProduct(b1, v0); c11.addProduct(b1, v1); c12.addProduct(b1, v2); c13.addProduct(b1, v3)
            let b2 = SIMD16(repeating: p[128 + j])
            c20.addProduct(b2, v0); c21.addProduct(b2, v1); c22.addProduct(b2, v2); c23.addProduct(b2, v3)
            let b3 = SIMD16(repeating: p[192 + j])
            c30.addProduct(b3, v0); c31.addProduct(b3, v1); c32.addProduct(b3, v2); c33.addProduct(b3, v3)
        }
        store(c00, o0); store(c01, o0 + 16); store(c02, o0 + 32); store(c03, o0 + 48)
        store(c10, o1); store(c11, o1 + 16); store(c12, o1 + 32); store(c13, o1 + 48)
        store(c20, o2); store(c21, o2 + 16); store(c22, o2 + 32); store(c23, o2 + 48)
        store(c30, o3); store(c31, o3 + 16); store(c32, o3 + 32); store(c33, o3 + 48)
    }

    /// `accumulate64` for a 16-column chunk (the tail of a head dimension that is not a multiple
    /// of 64).
    static func accumulate16(
        p: UnsafePointer<Float>, alpha: UnsafePointer<Float>, v: UnsafePointer<Float>, keys: Int,
        o: UnsafeMutablePointer<Float>, stride: Int
    ) {
        let o0 = o, o1 = o + stride, o2 = o + 2 * stride, o3 = o + 3 * stride
        var c0 = load(o0) * SIMD16(repeating: alpha[0]), c1 = load(o1) * SIMD16(repeating: alpha[1])
        var c2 = load(o2) * SIMD16(repeating: alpha[2]), c3 = load(o3) * SIMD16(repeating: alpha[3])
        for j in 0..<keys {
            let row = load(v + j * stride)
            c0.addProduct(SIMD16(repeating: p[j]), row)
            c1.addProduct(SIMD16(repeating: p[64 + j]), row)
            c2.addProduct(SIMD16(repeating: p[128 + j]), row)
            c3.addProduct(SIMD16(repeating: p[192 + j]), row)
        }
        store(c0, o0); store(c1, o1); store(c2, o2); store(c3, o3)
    }
}

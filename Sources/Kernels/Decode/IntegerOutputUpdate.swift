/// The block update of the integer value pass for the 4 output rows from one row:
/// `o = alpha · o + scale · Float(sums)`, 8 dimensions at a time, with each row's rescale factor
/// (`rowAlpha`) and weight scale (`rowWeightScale`).
struct IntegerOutputUpdate {
    /// The first of the 4 output rows (`DecodeScratch.output`), `headDim` apart.
    let output: UnsafeMutablePointer<Float>
    let headDim: Int
    /// The rows' rescale factors for the block (`rowAlpha`).
    let alpha: SIMD4<Float>
    /// The rows' weight scales for the block (`rowWeightScale`).
    let scale: SIMD4<Float>
    /// Once the rows' maxima have settled their rescale factors are exactly 1, and the multiply is
    /// skipped.
    let rescale: Bool

    /// The update of rows `row..<row + 4` of `scratch`, with their current factors and scales.
    @inline(__always)
    init(row: Int, headDim: Int, scratch: borrowing DecodeScratch) {
        output = scratch.output + row * headDim
        self.headDim = headDim
        alpha = UnsafeRawPointer(scratch.rowAlpha + row).loadUnaligned(as: SIMD4<Float>.self)
        scale = UnsafeRawPointer(scratch.rowWeightScale + row).loadUnaligned(as: SIMD4<Float>.self)
        rescale = alpha != SIMD4(repeating: 1)
    }

    /// Adds `sums` to the 8 output elements from `offset` of row `row` (0–3) of the block.
    @inline(__always)
    func add(_ sums: SIMD8<Int32>, row: Int, at offset: Int) {
        let o = output + (row &* headDim &+ offset)
        let old = TileMicroKernels.load8(o)
        let kept = rescale ? old * SIMD8(repeating: alpha[row]) : old
        TileMicroKernels.store8(VectorMath.fma(VectorMath.float(sums), SIMD8(repeating: scale[row]), kept), o)
    }
}

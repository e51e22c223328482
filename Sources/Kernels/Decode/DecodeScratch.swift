/// One worker thread's scratch space for the decode kernel: a few query rows, their running
/// softmax state and output, and the scores of one key block. Small enough to stay in L1.
struct DecodeScratch: ~Copyable {
    /// Query rows, scaled, `[row][headDim]`, zero rows past the real ones.
    let queries: UnsafeMutablePointer<Float>
    /// Query rows quantised for int8 keys, by register block of 4 rows and then by 32 elements:
    /// `[row / 4][headDim / 32][row % 4][32]`, each 32 reordered even then odd.
    let integerQueries: UnsafeMutablePointer<Int16>
    /// Scale of each query row's scores: the quantisation scale on the integer path, else 1 (0 for
    /// padding rows).
    let rowQueryScale: UnsafeMutablePointer<Float>
    /// Unnormalised output rows, `[row][headDim]`.
    let output: UnsafeMutablePointer<Float>
    /// Scores then softmax weights of the current block, `[row][16]`.
    let scores: UnsafeMutablePointer<Float>
    /// Weights for the values (softmax weights times the value row scale), `[row][16]`.
    let weights: UnsafeMutablePointer<Float>
    /// Weights of the current block quantised for int8 values, `[row][16]` `Int16` (with VNNI, each
    /// row's first 16 bytes hold its 16 weights as unsigned bytes), each row's scale and its
    /// inverse (the factor that quantises it).
    let integerWeights: UnsafeMutablePointer<Int16>
    let rowWeightScale: UnsafeMutablePointer<Float>
    let rowWeightInverse: UnsafeMutablePointer<Float>
    /// Key and value row scales of the current block (int8), `[head][16]`.
    let keyScales: UnsafeMutablePointer<Float>
    let valueScales: UnsafeMutablePointer<Float>
    /// Pairwise-reduced score partials of one 8-key group, `[row][4]` vectors.
    let partials: UnsafeMutablePointer<SIMD8<Float>>
    /// Running row maximum, row sum and the current block's rescale factor.
    let rowMax: UnsafeMutablePointer<Float>
    /// Each row's exponent shift for the current block (`VectorMath.exponentShift` of its running
    /// maximum); `-infinity` when the row sees none of the block's keys (its weights are then 0).
    let rowExponentShift: UnsafeMutablePointer<Float>
    let rowSum: UnsafeMutablePointer<Float>
    let rowAlpha: UnsafeMutablePointer<Float>
    /// ALiBi slope and aligned position of each row.
    let rowSlope: UnsafeMutablePointer<Float>
    let rowPosition: UnsafeMutablePointer<Int>

    /// Buffers for up to `maxRows` rows of `headDim`.
    init(maxRows: Int, headDim: Int) {
        queries = .allocateCacheAligned(capacity: maxRows * headDim)
        output = .allocateCacheAligned(capacity: maxRows * headDim)
        integerQueries = .allocateCacheAligned(capacity: maxRows * headDim)
        rowQueryScale = .allocateCacheAligned(capacity: maxRows)
        scores = .allocateCacheAligned(capacity: maxRows * DecodeAttentionKernel.keyBlock)
        weights = .allocateCacheAligned(capacity: maxRows * DecodeAttentionKernel.keyBlock)
        partials = .allocateCacheAligned(capacity: maxRows * 4)
        integerWeights = .allocateCacheAligned(capacity: maxRows * DecodeAttentionKernel.keyBlock)
        rowWeightScale = .allocateCacheAligned(capacity: maxRows)
        rowWeightInverse = .allocateCacheAligned(capacity: maxRows)
        // A head has at least one register block of rows.
        let heads = (maxRows + DecodeAttentionKernel.rowBlock - 1) / DecodeAttentionKernel.rowBlock
        keyScales = .allocateCacheAligned(capacity: heads * DecodeAttentionKernel.keyBlock)
        valueScales = .allocateCacheAligned(capacity: heads * DecodeAttentionKernel.keyBlock)
        rowMax = .allocateCacheAligned(capacity: maxRows)
        rowExponentShift = .allocateCacheAligned(capacity: maxRows)
        rowSum = .allocateCacheAligned(capacity: maxRows)
        rowAlpha = .allocateCacheAligned(capacity: maxRows)
        rowSlope = .allocateCacheAligned(capacity: maxRows)
        rowPosition = .allocateCacheAligned(capacity: maxRows)
    }

    deinit {
        queries.deallocate()
        output.deallocate()
        integerQueries.deallocate()
        rowQueryScale.deallocate()
        scores.deallocate()
        weights.deallocate()
        partials.deallocate()
        integerWeights.deallocate()
        rowWeightScale.deallocate()
        rowWeightInverse.deallocate()
        keyScales.deallocate()
        valueScales.deallocate()
        rowMax.deallocate()
        rowExponentShift.deallocate()
        rowSum.deallocate()
        rowAlpha.deallocate()
        rowSlope.deallocate()
        rowPosition.deallocate()
    }
}

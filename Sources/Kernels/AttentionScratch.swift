/// One worker thread's scratch space for the tiled kernel: the current KV head converted to packed
/// `Float` tiles (filled lazily, tile by tile) and the buffers of one query block.
struct AttentionScratch: ~Copyable {
    /// Keys of the cached head, transposed per tile: tile `t` at `t * headDim * 64`, `[d][64]`.
    let keys: UnsafeMutablePointer<Float>
    /// Values of the cached head, `[token][paddedDim]`, zero past `headDim`.
    let values: UnsafeMutablePointer<Float>
    /// Whether tile `t` of the cached head is packed.
    let packed: UnsafeMutablePointer<Bool>
    /// Tiles the head buffers hold.
    let tileCapacity: Int
    /// The (sequence, KV head) whose tiles are cached, or (-1, -1).
    var cachedSequence = -1
    var cachedHead = -1
    /// Query rows of the block, scaled, `[row][paddedDim]`, zero padded.
    let queries: UnsafeMutablePointer<Float>
    /// Scores, then softmax weights, of the block against one tile, `[row][64]`.
    let scores: UnsafeMutablePointer<Float>
    /// Unnormalised output rows, `[row][paddedDim]`.
    let output: UnsafeMutablePointer<Float>
    /// Running row maximum, row sum and the current tile's rescale factor.
    let rowMax: UnsafeMutablePointer<Float>
    let rowSum: UnsafeMutablePointer<Float>
    let rowAlpha: UnsafeMutablePointer<Float>
    /// ALiBi slope of each row's query head.
    let rowSlope: UnsafeMutablePointer<Float>
    /// Aligned position of each row's query token.
    let rowPosition: UnsafeMutablePointer<Int>
    /// One converted K row.
    let rowBuffer: UnsafeMutablePointer<Float>

    /// Buffers for heads of up to `maxKeys` keys of `headDim` (padded to `paddedDim`) and blocks of
    /// up to `maxRows` rows (a multiple of the micro-kernel's row block).
    init(maxKeys: Int, maxRows: Int, headDim: Int, paddedDim: Int) {
        let tiles = max(1, (maxKeys + TileMicroKernels.keyTile - 1) / TileMicroKernels.keyTile)
        tileCapacity = tiles
        keys = .allocate(capacity: tiles * TileMicroKernels.keyTile * headDim)
        values = .allocate(capacity: tiles * TileMicroKernels.keyTile * paddedDim)
        values.initialize(repeating: 0, count: tiles * TileMicroKernels.keyTile * paddedDim)
        packed = .allocate(capacity: tiles)
        packed.initialize(repeating: false, count: tiles)
        queries = .allocate(capacity: maxRows * paddedDim)
        queries.initialize(repeating: 0, count: maxRows * paddedDim)
        scores = .allocate(capacity: maxRows * TileMicroKernels.keyTile)
        output = .allocate(capacity: maxRows * paddedDim)
        rowMax = .allocate(capacity: maxRows)
        rowSum = .allocate(capacity: maxRows)
        rowAlpha = .allocate(capacity: maxRows)
        rowSlope = .allocate(capacity: maxRows)
        rowPosition = .allocate(capacity: maxRows)
        rowBuffer = .allocate(capacity: headDim)
    }

    deinit {
        keys.deallocate()
        values.deallocate()
        packed.deallocate()
        queries.deallocate()
        scores.deallocate()
        output.deallocate()
        rowMax.deallocate()
        rowSum.deallocate()
        rowAlpha.deallocate()
        rowSlope.deallocate()
        rowPosition.deallocate()
        rowBuffer.deallocate()
    }
}

/// One worker thread's scratch space for the tiled kernel: tiles of the current KV head converted
/// to packed `Float` (filled lazily, tile by tile, into slot `tile % tileCapacity`) and the buffers
/// of one query block.
struct AttentionScratch: ~Copyable {
    /// Keys of the cached tiles, transposed: the tile in slot `s` at `s * headDim * 64`, `[d][64]`.
    let keys: UnsafeMutablePointer<Float>
    /// Values of the cached tiles: the tile in slot `s` at `s * 64 * paddedDim`, `[key][paddedDim]`,
    /// zero past `headDim`.
    let values: UnsafeMutablePointer<Float>
    /// The tile of the cached head each slot holds, or -1.
    let packed: UnsafeMutablePointer<Int>
    /// Tile slots: at least as many tiles as one block of queries can see.
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
    /// One converted K or V row (for the elements past the last whole 8).
    let rowBuffer: UnsafeMutablePointer<Float>
    /// The K/V row of each key of the tile being packed, -1 past the sequence.
    let tileRows: UnsafeMutablePointer<Int>

    /// Buffers for `tiles` key tiles of `headDim` (padded to `paddedDim`) and blocks of up to
    /// `maxRows` rows (a multiple of the micro-kernel's row block).
    init(tiles: Int, maxRows: Int, headDim: Int, paddedDim: Int) {
        tileCapacity = max(1, tiles)
        keys = .allocateCacheAligned(capacity: tileCapacity * TileMicroKernels.keyTile * headDim)
        values = .allocateCacheAligned(capacity: tileCapacity * TileMicroKernels.keyTile * paddedDim)
        packed = .allocateCacheAligned(capacity: tileCapacity)
        packed.initialize(repeating: -1, count: tileCapacity)
        queries = .allocateCacheAligned(capacity: maxRows * paddedDim)
        queries.initialize(repeating: 0, count: maxRows * paddedDim)
        scores = .allocateCacheAligned(capacity: maxRows * TileMicroKernels.keyTile)
        output = .allocateCacheAligned(capacity: maxRows * paddedDim)
        rowMax = .allocateCacheAligned(capacity: maxRows)
        rowSum = .allocateCacheAligned(capacity: maxRows)
        rowAlpha = .allocateCacheAligned(capacity: maxRows)
        rowSlope = .allocateCacheAligned(capacity: maxRows)
        rowPosition = .allocateCacheAligned(capacity: maxRows)
        rowBuffer = .allocateCacheAligned(capacity: headDim)
        tileRows = .allocateCacheAligned(capacity: TileMicroKernels.keyTile)
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
        tileRows.deallocate()
    }
}

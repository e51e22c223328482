import Foundation

/// FlashAttention-2 style kernel for one work item: a block of query rows (whole tokens, all query
/// heads of one KV group) against the key tiles of its KV head that the masks leave visible.
///
/// Key tiles are 64 keys aligned to position 0 (the block-sparse key tiles). Tiles no row can see
/// are skipped; tiles every row sees entirely are computed without masks; only boundary tiles are
/// masked element by element. Scores go through scale, softcap, ALiBi and masks, then an online
/// softmax; the result of a row depends only on its item, never on the thread running it.
struct TiledAttentionKernel: Sendable {
    /// One item: query tokens `firstToken ..< firstToken + tokenCount` of `sequence`, all query
    /// heads of KV head `kvHead`.
    struct Item: Sendable {
        var sequence: Int
        var kvHead: Int
        var firstToken: Int
        var tokenCount: Int
    }

    let headDim: Int
    /// `headDim` rounded up to a multiple of 16.
    let paddedDim: Int
    /// Query heads per KV head.
    let group: Int
    let options: ResolvedAttentionOptions

    /// Rows in a block of `tokens` tokens, rounded up to the micro-kernel's row block.
    func paddedRows(tokens: Int) -> Int {
        let rows = tokens * group
        let block = TileMicroKernels.rowBlock
        return (rows + block - 1) / block * block
    }

    /// Computes every output row and log-sum-exp entry of `item`.
    func run(
        _ item: Item,
        sequence: AttentionSequence,
        sequenceIndex: Int,
        buffers: AttentionBuffers,
        scratch: inout AttentionScratch
    ) {
        let dim = headDim
        let rowStride = paddedDim
        let rows = item.tokenCount * group
        let rowCount = paddedRows(tokens: item.tokenCount)
        let shift = sequence.keyCount - sequence.queryCount
        let visibility = options.visibility
        if scratch.cachedSequence != sequenceIndex || scratch.cachedHead != item.kvHead {
            scratch.packed.update(repeating: -1, count: scratch.tileCapacity)
            scratch.cachedSequence = sequenceIndex
            scratch.cachedHead = item.kvHead
        }

        // Gather the block's query rows, pre-scaled.
        for r in 0..<rowCount {
            let destination = scratch.queries + r * rowStride
            scratch.rowMax[r] = -.infinity
            scratch.rowSum[r] = 0
            (scratch.output + r * rowStride).update(repeating: 0, count: rowStride)
            guard r < rows else {
                destination.update(repeating: 0, count: rowStride)
                scratch.rowPosition[r] = 0
                continue
            }
            let token = item.firstToken + r / group
            let head = item.kvHead * group + r % group
            let source =
                buffers.queries + sequence.queryBase + token * sequence.queryTokenStride
                + head * sequence.queryHeadStride
            for d in 0..<dim { destination[d] = source[d] * options.scale }
            for d in dim..<rowStride { destination[d] = 0 }
            scratch.rowPosition[r] = token + shift
            scratch.rowSlope[r] = options.alibiSlopes?[head] ?? 0
        }

        let firstPosition = item.firstToken + shift
        let lastPosition = item.firstToken + item.tokenCount - 1 + shift
        let firstKey = visibility.firstKey(position: firstPosition)
        let lastKey = visibility.lastKey(position: lastPosition, keyCount: sequence.keyCount)
        let tileWidth = TileMicroKernels.keyTile
        if lastKey >= firstKey, lastKey >= 0 {
            for tile in (firstKey / tileWidth)...(lastKey / tileWidth) {
                let keyStart = tile * tileWidth
                let coverage = visibility.classify(
                    keyStart: keyStart,
                    count: tileWidth,
                    firstPosition: firstPosition,
                    lastPosition: lastPosition,
                    keyCount: sequence.keyCount
                )
                if coverage == .hidden { continue }
                let keys = min(tileWidth, sequence.keyCount - keyStart)
                let slot = tile % scratch.tileCapacity
                if scratch.packed[slot] != tile {
                    pack(
                        tile: tile,
                        slot: slot,
                        keys: keys,
                        kvHead: item.kvHead,
                        sequence: sequence,
                        buffers: buffers,
                        scratch: scratch
                    )
                    scratch.packed[slot] = tile
                }
                let kt = UnsafePointer(scratch.keys + slot * dim * tileWidth)
                let values = UnsafePointer(scratch.values + slot * tileWidth * rowStride)
                let masked = coverage == .partial
                /// On a boundary tile, only the keys some row of the register block from row `r` sees.
                func keyRange(_ r: Int) -> Range<Int> {
                    masked
                        ? visibleKeys(
                            rowBlock: r,
                            rows: rows,
                            keyStart: keyStart,
                            keys: keys,
                            keyCount: sequence.keyCount,
                            scratch: scratch
                        )
                        : 0..<keys
                }
                var r = 0
                while r < rowCount {
                    // Their 16-key groups for the scores (the rest is masked for every row of the block).
                    let range = keyRange(r)
                    if !range.isEmpty {
                        TileMicroKernels.scores(
                            q: scratch.queries + r * rowStride,
                            queryStride: rowStride,
                            kt: kt,
                            depth: dim,
                            s: scratch.scores + r * tileWidth,
                            columns: (range.lowerBound / 16 * 16)..<((range.upperBound + 15) / 16 * 16)
                        )
                    }
                    r += TileMicroKernels.rowBlock
                }
                softmax(
                    rows: rows,
                    rowCount: rowCount,
                    keyStart: keyStart,
                    tile: tile,
                    masked: masked,
                    keyCount: sequence.keyCount,
                    scratch: scratch
                )
                r = 0
                while r < rowCount {
                    let range = keyRange(r)
                    let p = UnsafePointer(scratch.scores + r * tileWidth + range.lowerBound)
                    let alpha = UnsafePointer(scratch.rowAlpha + r)
                    let v = values + range.lowerBound * rowStride
                    for column in stride(from: 0, to: rowStride, by: 16) {
                        TileMicroKernels.accumulate16(
                            p: p,
                            alpha: alpha,
                            v: v + column,
                            keys: range.count,
                            o: scratch.output + r * rowStride + column,
                            stride: rowStride
                        )
                    }
                    r += TileMicroKernels.rowBlock
                }
            }
        }

        // Normalise and write out.
        for r in 0..<rows {
            let token = item.firstToken + r / group
            let head = item.kvHead * group + r % group
            let destination =
                buffers.output + sequence.queryBase + token * sequence.queryTokenStride
                + head * sequence.queryHeadStride
            let lseIndex = sequence.lseBase + token * sequence.lseTokenStride + head * sequence.lseHeadStride
            let sum = scratch.rowSum[r]
            if sum > 0 {
                let inverse = 1 / sum
                let source = scratch.output + r * rowStride
                for d in 0..<dim { destination[d] = source[d] * inverse }
                buffers.logSumExp[lseIndex] = scratch.rowMax[r] + Foundation.log(sum)
            } else {
                destination.update(repeating: 0, count: dim)
                buffers.logSumExp[lseIndex] = -.infinity
            }
        }
    }

    /// The keys of a tile that some real row of the register block starting at row `rowBlock` may
    /// see, by the causal and window bounds (rows are in position order).
    private func visibleKeys(
        rowBlock: Int,
        rows: Int,
        keyStart: Int,
        keys: Int,
        keyCount: Int,
        scratch: borrowing AttentionScratch
    ) -> Range<Int> {
        let lastRow = min(rowBlock + TileMicroKernels.rowBlock, rows) - 1
        guard rowBlock <= lastRow else { return 0..<0 }
        let visibility = options.visibility
        let low = max(visibility.firstKey(position: scratch.rowPosition[rowBlock]), keyStart) - keyStart
        let last = visibility.lastKey(position: scratch.rowPosition[lastRow], keyCount: keyCount)
        let high = min(last, keyStart + keys - 1) - keyStart
        return low <= high ? low..<(high + 1) : 0..<0
    }

    /// Converts tile `tile` (`keys` keys) of the item's KV head into slot `slot` of the scratch.
    private func pack(
        tile: Int,
        slot: Int,
        keys: Int,
        kvHead: Int,
        sequence: AttentionSequence,
        buffers: AttentionBuffers,
        scratch: borrowing AttentionScratch
    ) {
        switch buffers.keys.storage {
        case .f32:
            pack(
                F32Element.self,
                tile: tile,
                slot: slot,
                keys: keys,
                kvHead: kvHead,
                sequence: sequence,
                buffers: buffers,
                scratch: scratch
            )
        case .f16:
            pack(
                F16Element.self,
                tile: tile,
                slot: slot,
                keys: keys,
                kvHead: kvHead,
                sequence: sequence,
                buffers: buffers,
                scratch: scratch
            )
        case .bf16:
            pack(
                BF16Element.self,
                tile: tile,
                slot: slot,
                keys: keys,
                kvHead: kvHead,
                sequence: sequence,
                buffers: buffers,
                scratch: scratch
            )
        case .int8:
            pack(
                Int8Element.self,
                tile: tile,
                slot: slot,
                keys: keys,
                kvHead: kvHead,
                sequence: sequence,
                buffers: buffers,
                scratch: scratch
            )
        }
    }

    /// `pack` for storage `E`: keys 8 at a time, converted 8 elements at a time and transposed in
    /// registers into `[d][64]`; value rows converted 8 elements at a time. Keys past `keys` are
    /// zero, and so are value elements past `headDim`.
    private func pack<E: KVElement>(
        _: E.Type,
        tile: Int,
        slot: Int,
        keys: Int,
        kvHead: Int,
        sequence: AttentionSequence,
        buffers: AttentionBuffers,
        scratch: borrowing AttentionScratch
    ) {
        let dim = headDim
        let tileWidth = TileMicroKernels.keyTile
        let kt = scratch.keys + slot * dim * tileWidth
        let rows = scratch.tileRows
        let rowBytes = dim * E.size
        for j in 0..<tileWidth {
            rows[j] =
                j < keys
                ? sequence.keyRows.row(head: kvHead, token: tile * tileWidth + j, pageTable: buffers.pageTable) : -1
        }
        /// Elements `d..<d+8` of key `j` as floats (zero for a key past `keys`).
        @inline(__always) func key8(_ j: Int, _ d: Int) -> SIMD8<Float> {
            let row = rows[j]
            guard row >= 0 else { return SIMD8() }
            let x = E.load8(buffers.keys.bytes + row * rowBytes + d * E.size)
            return E.isScaled ? x * SIMD8(repeating: buffers.keys.scales[row]) : x
        }
        let whole = dim / 8 * 8
        for j in stride(from: 0, to: tileWidth, by: 8) {
            for d in stride(from: 0, to: whole, by: 8) {
                VectorMath.storeTransposed(
                    key8(j, d),
                    key8(j + 1, d),
                    key8(j + 2, d),
                    key8(j + 3, d),
                    key8(j + 4, d),
                    key8(j + 5, d),
                    key8(j + 6, d),
                    key8(j + 7, d),
                    to: kt + d * tileWidth + j,
                    stride: tileWidth
                )
            }
        }
        for j in 0..<tileWidth {
            let valueRow = scratch.values + (slot * tileWidth + j) * paddedDim
            let row = rows[j]
            guard row >= 0 else {
                for d in whole..<dim { kt[d * tileWidth + j] = 0 }
                valueRow.update(repeating: 0, count: paddedDim)
                continue
            }
            if whole < dim {
                buffers.keys.load(row: row, into: scratch.rowBuffer)
                for d in whole..<dim { kt[d * tileWidth + j] = scratch.rowBuffer[d] }
            }
            let source = buffers.values.bytes + row * rowBytes
            let scale = SIMD8<Float>(repeating: E.isScaled ? buffers.values.scales[row] : 1)
            for d in stride(from: 0, to: whole, by: 8) {
                TileMicroKernels.store8(E.load8(source + d * E.size) * scale, valueRow + d)
            }
            if whole < dim {
                buffers.values.load(row: row, into: scratch.rowBuffer)
                for d in whole..<dim { valueRow[d] = scratch.rowBuffer[d] }
            }
            (valueRow + dim).update(repeating: 0, count: paddedDim - dim)
        }
    }

    /// Turns the scores of one tile into softmax weights in place, updating each row's running
    /// maximum and sum and setting its rescale factor for the output.
    private func softmax(
        rows: Int,
        rowCount: Int,
        keyStart: Int,
        tile: Int,
        masked: Bool,
        keyCount: Int,
        scratch: borrowing AttentionScratch
    ) {
        let visibility = options.visibility
        let laneFloat = SIMD16<Float>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
        for r in 0..<rowCount {
            let s = scratch.scores + r * 64
            let position = scratch.rowPosition[r]
            var first = 0
            var last = 63
            if r >= rows {
                s.update(repeating: 0, count: 64)
                scratch.rowAlpha[r] = 1
                continue
            }
            if masked {
                first = max(visibility.firstKey(position: position), keyStart) - keyStart
                last = min(visibility.lastKey(position: position, keyCount: keyCount), keyStart + 63) - keyStart
                if first > last || !visibility.tileAllowed(position: position, keyTile: tile) {
                    s.update(repeating: 0, count: 64)
                    scratch.rowAlpha[r] = 1
                    continue
                }
            }
            var x0 = TileMicroKernels.load(s)
            var x1 = TileMicroKernels.load(s + 16)
            var x2 = TileMicroKernels.load(s + 32)
            var x3 = TileMicroKernels.load(s + 48)
            if let cap = options.softcap {
                let inverse = SIMD16<Float>(repeating: 1 / cap)
                let c = SIMD16<Float>(repeating: cap)
                x0 = c * VectorMath.tanh(x0 * inverse)
                x1 = c * VectorMath.tanh(x1 * inverse)
                x2 = c * VectorMath.tanh(x2 * inverse)
                x3 = c * VectorMath.tanh(x3 * inverse)
            }
            if options.alibiSlopes != nil {
                let slope = SIMD16<Float>(repeating: scratch.rowSlope[r])
                let offset = SIMD16<Float>(repeating: Float(keyStart - position)) + laneFloat
                x0.addProduct(slope, offset)
                x1.addProduct(slope, offset + 16)
                x2.addProduct(slope, offset + 32)
                x3.addProduct(slope, offset + 48)
            }
            if first > 0 || last < 63 {
                let low = Float(first)
                let high = Float(last)
                x0 = VectorMath.maskOutside(x0, offset: 0, first: low, last: high)
                x1 = VectorMath.maskOutside(x1, offset: 16, first: low, last: high)
                x2 = VectorMath.maskOutside(x2, offset: 32, first: low, last: high)
                x3 = VectorMath.maskOutside(x3, offset: 48, first: low, last: high)
            }
            let tileMax = VectorMath.horizontalMax(
                VectorMath.maximum(VectorMath.maximum(x0, x1), VectorMath.maximum(x2, x3))
            )
            TileMicroKernels.store(x0, s)
            TileMicroKernels.store(x1, s + 16)
            TileMicroKernels.store(x2, s + 32)
            TileMicroKernels.store(x3, s + 48)
            let previous = scratch.rowMax[r]
            let newMax = Swift.max(previous, tileMax)
            let shift = SIMD8<Float>(repeating: VectorMath.exponentShift(maximum: newMax))
            // Eight keys at a time, with one inlined exponential (the optimizer stops inlining into a
            // function that grows too large); groups the row does not see get weight 0 (what `exp`
            // gives) without an `exp`.
            var sum = SIMD8<Float>()
            for group in 0..<8 {
                let lane = s + 8 * group
                let p =
                    first <= 8 * group + 7 && last >= 8 * group
                    ? VectorMath.exp(TileMicroKernels.load8(lane), shift: shift) : SIMD8()
                TileMicroKernels.store8(p, lane)
                sum += p
            }
            let alpha = previous == newMax ? 1 : VectorMath.exp(SIMD8(repeating: previous - newMax))[0]
            scratch.rowMax[r] = newMax
            scratch.rowSum[r] = scratch.rowSum[r] * alpha + VectorMath.horizontalSum(sum)
            scratch.rowAlpha[r] = alpha
        }
    }
}

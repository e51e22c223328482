import Foundation

#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// Streaming kernel for few query rows (decode and short multi-token decode): one item is a
/// sequence and a range of its KV heads, with the query rows of every query head of each group and
/// every query token, so each K/V row is read from memory once for the whole group.
///
/// Keys are streamed straight from storage in blocks of up to 16 consecutive slots of one page
/// (never crossing a 64-key block-sparse tile). A block is processed for every KV head of the item
/// at once and read in address order: scores key pair by key pair across the heads, then the
/// softmax of each head, then values across the heads. A block's value rows are prefetched during
/// its score pass and the next block's key rows (and row scales) during its value pass, a few
/// lines per step, so that the misses of the scattered pages overlap the arithmetic
/// (`BlockPrefetch`).
///
/// Floating-point storage: scores of 4 rows × 2 keys are accumulated as `SIMD8` partials along the
/// head dimension and reduced with a transposed pairwise-add tree; values are multiplied and added
/// in `Float` in chunks of 2 KB per head. int8 storage with a head dimension divisible by 32 runs
/// in integers instead (`DecodeAttentionKernel+Int8.swift`): exact dot products of 16-bit queries
/// for the scores, and value weights quantised per row and block (to 16 bits, or to 8 with AVX-512
/// VNNI) for the value pass; the row scales are folded into scores and weights, so no row is
/// dequantised into memory. Results depend only on the item, never on the thread running it.
struct DecodeAttentionKernel: Sendable {
    /// Keys per block.
    static let keyBlock = 16
    /// Bytes of one head's value rows per pass over the heads (8 keys of f16 at D = 128).
    static let valueChunkBytes = 2048
    /// Query rows handled per register block.
    static let rowBlock = 4
    /// Most query rows (tokens × group) an item may have.
    static let maxRows = 16

    let headDim: Int
    /// Query heads per KV head.
    let group: Int
    let options: ResolvedAttentionOptions

    /// Whether a call with `rows` query rows per (sequence, KV head) and this head dimension suits
    /// this kernel.
    static func handles(rows: Int, headDim: Int) -> Bool {
        rows <= maxRows && headDim % 8 == 0
    }

    /// Query rows per KV head of `sequence`, rounded up to the register block: the stride between
    /// heads in the scratch space.
    func paddedRows(queryCount: Int) -> Int {
        (queryCount * group + Self.rowBlock - 1) / Self.rowBlock * Self.rowBlock
    }

    /// Computes every output row and log-sum-exp entry of KV heads `kvHeads` of `sequence`.
    func run(
        kvHeads: Range<Int>,
        sequence: AttentionSequence,
        buffers: AttentionBuffers,
        scratch: borrowing DecodeScratch
    ) {
        switch buffers.keys.storage {
        case .f32: run(F32Element.self, kvHeads: kvHeads, sequence: sequence, buffers: buffers, scratch: scratch)
        case .f16: run(F16Element.self, kvHeads: kvHeads, sequence: sequence, buffers: buffers, scratch: scratch)
        case .bf16: run(BF16Element.self, kvHeads: kvHeads, sequence: sequence, buffers: buffers, scratch: scratch)
        case .int8: run(Int8Element.self, kvHeads: kvHeads, sequence: sequence, buffers: buffers, scratch: scratch)
        }
    }

    private func run<E: KVElement>(
        _: E.Type,
        kvHeads: Range<Int>,
        sequence: AttentionSequence,
        buffers: AttentionBuffers,
        scratch: borrowing DecodeScratch
    ) {
        let dim = headDim
        let rows = sequence.queryCount * group
        let rowCount = paddedRows(queryCount: sequence.queryCount)
        let shift = sequence.keyCount - sequence.queryCount
        let integerPath = E.isScaled && dim % 32 == 0
        for kvHead in kvHeads {
            let headRow = (kvHead - kvHeads.lowerBound) * rowCount
            for r in 0..<rowCount {
                let destination = scratch.queries + (headRow + r) * dim
                scratch.rowMax[headRow + r] = -.infinity
                scratch.rowSum[headRow + r] = 0
                (scratch.output + (headRow + r) * dim).update(repeating: 0, count: dim)
                guard r < rows else {
                    destination.update(repeating: 0, count: dim)
                    scratch.rowQueryScale[headRow + r] = 0
                    if integerPath { quantiseQuery(row: headRow + r, scratch: scratch) }
                    scratch.rowPosition[headRow + r] = 0
                    continue
                }
                let token = r / group
                let head = kvHead * group + r % group
                let source =
                    buffers.queries + sequence.queryBase + token * sequence.queryTokenStride
                    + head * sequence.queryHeadStride
                for d in 0..<dim { destination[d] = source[d] * options.scale }
                if integerPath {
                    quantiseQuery(row: headRow + r, scratch: scratch)
                } else {
                    scratch.rowQueryScale[headRow + r] = 1
                }
                scratch.rowPosition[headRow + r] = token + shift
                scratch.rowSlope[headRow + r] = options.alibiSlopes?[head] ?? 0
            }
        }

        let visibility = options.visibility
        let firstPosition = shift
        let lastPosition = sequence.queryCount - 1 + shift
        let firstKey = visibility.firstKey(position: firstPosition)
        let lastKey = visibility.lastKey(position: lastPosition, keyCount: sequence.keyCount)
        let rowBytes = dim * E.size
        let keysPerChunk = self.keysPerChunk(E.self)
        var key = firstKey
        while key <= lastKey {
            let firstRun = sequence.keyRows.run(head: kvHeads.lowerBound, token: key, pageTable: buffers.pageTable)
            let tileEnd = (key / TileMicroKernels.keyTile + 1) * TileMicroKernels.keyTile
            let count = min(Self.keyBlock, firstRun.count, lastKey + 1 - key, tileEnd - key)
            let coverage = visibility.classify(
                keyStart: key,
                count: count,
                firstPosition: firstPosition,
                lastPosition: lastPosition,
                keyCount: sequence.keyCount
            )
            // This block's value rows are prefetched during its score pass and the next block's key
            // rows during its value pass, a slice per key pair (scores) and per 16 dimensions
            // (integer values) or per chunk (float values) and head.
            let scoreSlices = (integerPath ? (count + 1) / 2 : (count + 7) / 8 * 4) * kvHeads.count
            let valueSlices = (integerPath ? dim / 16 : (count + keysPerChunk - 1) / keysPerChunk) * kvHeads.count
            var prefetch = BlockPrefetch(
                scorePass: PrefetchSlices(
                    base: buffers.values.bytes + firstRun.row * rowBytes,
                    bytes: ((count - 1) * firstRun.step + kvHeads.count) * rowBytes,
                    slices: scoreSlices
                ),
                valuePass: .none
            )
            let next = key + count
            if next <= lastKey {
                let nextRun = sequence.keyRows.run(head: kvHeads.lowerBound, token: next, pageTable: buffers.pageTable)
                let rows = (min(Self.keyBlock, nextRun.count, lastKey + 1 - next) - 1) * nextRun.step + kvHeads.count
                if E.isScaled {
                    prefetchScales(row: nextRun.row, rows: rows, buffers: buffers)
                }
                prefetch = BlockPrefetch(
                    scorePass: prefetch.scorePass,
                    valuePass: PrefetchSlices(
                        base: buffers.keys.bytes + nextRun.row * rowBytes,
                        bytes: rows * rowBytes,
                        slices: valueSlices
                    )
                )
            }
            if coverage != .hidden {
                let headStep =
                    kvHeads.count > 1
                    ? (sequence.keyRows.run(head: kvHeads.lowerBound + 1, token: key, pageTable: buffers.pageTable).row
                        - firstRun.row) * rowBytes
                    : 0
                let keyBase = buffers.keys.bytes + firstRun.row * rowBytes
                let valueBase = buffers.values.bytes + firstRun.row * rowBytes
                let step = firstRun.step * rowBytes
                if integerPath {
                    integerScores(
                        heads: kvHeads.count,
                        rowCount: rowCount,
                        keys: keyBase,
                        headStep: headStep,
                        step: step,
                        count: count,
                        prefetch: prefetch,
                        scratch: scratch
                    )
                } else {
                    scores(
                        E.self,
                        heads: kvHeads.count,
                        rowCount: rowCount,
                        keys: keyBase,
                        headStep: headStep,
                        step: step,
                        count: count,
                        prefetch: prefetch,
                        scratch: scratch
                    )
                }
                if E.isScaled {
                    gatherScales(
                        heads: kvHeads.count,
                        firstRow: firstRun.row,
                        headStep: headStep / rowBytes,
                        step: firstRun.step,
                        count: count,
                        buffers: buffers,
                        scratch: scratch
                    )
                }
                softmax(
                    rows: rows,
                    rowCount: rowCount,
                    heads: kvHeads.count,
                    keyStart: key,
                    count: count,
                    masked: coverage == .partial,
                    keyCount: sequence.keyCount,
                    scaled: E.isScaled,
                    integer: integerPath,
                    scratch: scratch
                )
                if integerPath {
                    integerAccumulate(
                        heads: kvHeads.count,
                        rowCount: rowCount,
                        values: valueBase,
                        headStep: headStep,
                        step: step,
                        count: count,
                        prefetch: prefetch,
                        scratch: scratch
                    )
                } else {
                    accumulate(
                        E.self,
                        heads: kvHeads.count,
                        rowCount: rowCount,
                        values: valueBase,
                        headStep: headStep,
                        step: step,
                        count: count,
                        prefetch: prefetch.valuePass,
                        scratch: scratch
                    )
                }
            }
            key += count
        }

        for kvHead in kvHeads {
            let headRow = (kvHead - kvHeads.lowerBound) * rowCount
            for r in 0..<rows {
                let token = r / group
                let head = kvHead * group + r % group
                let destination =
                    buffers.output + sequence.queryBase + token * sequence.queryTokenStride
                    + head * sequence.queryHeadStride
                let lseIndex = sequence.lseBase + token * sequence.lseTokenStride + head * sequence.lseHeadStride
                let sum = scratch.rowSum[headRow + r]
                if sum > 0 {
                    let inverse = 1 / sum
                    let source = scratch.output + (headRow + r) * dim
                    if integerPath {
                        storeIntegerOutput(source, inverse: inverse, to: destination)
                    } else {
                        for d in 0..<dim { destination[d] = source[d] * inverse }
                    }
                    buffers.logSumExp[lseIndex] = scratch.rowMax[headRow + r] + Foundation.log(sum)
                } else {
                    destination.update(repeating: 0, count: dim)
                    buffers.logSumExp[lseIndex] = -.infinity
                }
            }
        }
    }

    /// What is prefetched while a block is computed, a slice at a time, so that the misses overlap
    /// the arithmetic (the blocks of a paged sequence are scattered): the block's own value rows
    /// during its score pass, and the next block's key rows during its value pass. At any moment
    /// one block's worth of rows is in flight, into L2 (`Prefetch.line`).
    struct BlockPrefetch {
        let scorePass: PrefetchSlices
        let valuePass: PrefetchSlices
    }

    /// Cache lines to prefetch in equal slices.
    struct PrefetchSlices {
        let base: UnsafeRawPointer?
        let lines: Int
        let linesPerSlice: Int

        static var none: PrefetchSlices { PrefetchSlices(base: nil, lines: 0, linesPerSlice: 0) }

        /// The lines of `bytes` bytes from `base`, in `slices` slices.
        init(base: UnsafeRawPointer, bytes: Int, slices: Int) {
            let lines = (bytes + Prefetch.lineBytes - 1) / Prefetch.lineBytes
            self.init(base: base, lines: lines, linesPerSlice: (lines + slices - 1) / max(1, slices))
        }

        private init(base: UnsafeRawPointer?, lines: Int, linesPerSlice: Int) {
            self.base = base
            self.lines = lines
            self.linesPerSlice = linesPerSlice
        }

        /// Prefetches slice `index` (nothing past the last line).
        @inline(__always)
        func prefetch(slice index: Int) {
            guard let base else { return }
            var line = index &* linesPerSlice
            let end = min(line &+ linesPerSlice, lines)
            while line < end {
                Prefetch.line(base + line &* Prefetch.lineBytes)
                line &+= 1
            }
        }
    }

    /// Prefetches the key and value row scales of `rows` rows from `row` (the next block's, a
    /// whole block ahead: `gatherScales` would otherwise wait for a miss on every block).
    private func prefetchScales(row: Int, rows: Int, buffers: AttentionBuffers) {
        let lineFloats = Prefetch.lineBytes / MemoryLayout<Float>.size
        var line = row / lineFloats * lineFloats
        while line < row + rows {
            Prefetch.line(buffers.keys.scales + line)
            Prefetch.line(buffers.values.scales + line)
            line += lineFloats
        }
    }

    /// Pairwise sums of two vectors' lanes: lanes 0–3 from `a`, 4–7 from `b`. Applied three times
    /// to eight accumulators it gives one vector of their eight horizontal sums.
    @inline(__always)
    private static func combine(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
        SIMD8(lowHalf: a.evenHalf + a.oddHalf, highHalf: b.evenHalf + b.oddHalf)
    }

    /// Raw scores `q·k` of every row of every head against keys `0..<count` of the block, into
    /// `scores[row][k]` (lanes past `count` repeat the last key). Keys are visited pair by pair
    /// across the heads, so a page is read in address order.
    private func scores<E: KVElement>(
        _: E.Type,
        heads: Int,
        rowCount: Int,
        keys: UnsafeRawPointer,
        headStep: Int,
        step: Int,
        count: Int,
        prefetch: BlockPrefetch,
        scratch: borrowing DecodeScratch
    ) {
        let dim = headDim
        let totalRows = heads * rowCount
        let halves = (count + 7) / 8
        for half in 0..<halves {
            for pair in 0..<4 {
                let first = min(half * 8 + pair * 2, count - 1)
                let second = min(first + 1, count - 1)
                for h in 0..<heads {
                    prefetch.scorePass.prefetch(slice: (half * 4 + pair) * heads + h)
                    let ka = keys + h * headStep + first * step
                    let kb = keys + h * headStep + second * step
                    var r = h * rowCount
                    while r < (h + 1) * rowCount {
                        let q0 = UnsafePointer(scratch.queries + r * dim)
                        let q1 = q0 + dim
                        let q2 = q1 + dim
                        let q3 = q2 + dim
                        var a0 = SIMD8<Float>()
                        var a1 = SIMD8<Float>()
                        var a2 = SIMD8<Float>()
                        var a3 = SIMD8<Float>()
                        var b0 = SIMD8<Float>()
                        var b1 = SIMD8<Float>()
                        var b2 = SIMD8<Float>()
                        var b3 = SIMD8<Float>()
                        var d = 0
                        while d < dim {
                            let x = E.load8(ka + d * E.size)
                            let y = E.load8(kb + d * E.size)
                            let u0 = TileMicroKernels.load8(q0 + d)
                            let u1 = TileMicroKernels.load8(q1 + d)
                            a0.addProduct(u0, x)
                            b0.addProduct(u0, y)
                            a1.addProduct(u1, x)
                            b1.addProduct(u1, y)
                            let u2 = TileMicroKernels.load8(q2 + d)
                            let u3 = TileMicroKernels.load8(q3 + d)
                            a2.addProduct(u2, x)
                            b2.addProduct(u2, y)
                            a3.addProduct(u3, x)
                            b3.addProduct(u3, y)
                            d += 8
                        }
                        let partials = scratch.partials + r * 4 + pair
                        partials[0] = Self.combine(a0, b0)
                        partials[4] = Self.combine(a1, b1)
                        partials[8] = Self.combine(a2, b2)
                        partials[12] = Self.combine(a3, b3)
                        r += Self.rowBlock
                    }
                }
            }
            for r in 0..<totalRows {
                let p = scratch.partials + r * 4
                let sums = Self.combine(Self.combine(p[0], p[1]), Self.combine(p[2], p[3]))
                TileMicroKernels.store8(sums, scratch.scores + r * Self.keyBlock + half * 8)
            }
        }
    }

    /// Copies the int8 row scales of the block's keys into `keyScales` and `valueScales`, `[head][16]`;
    /// lanes past `count` repeat the last key's scales (their weights are 0). `firstRow` is the row of
    /// key 0 of the item's first head, `headStep` and `step` the rows between heads and between keys.
    /// When the block is whole and its 8 heads' rows adjacent, each key's 8 scales are one load and
    /// 8 keys are transposed in registers.
    private func gatherScales(
        heads: Int,
        firstRow: Int,
        headStep: Int,
        step: Int,
        count: Int,
        buffers: AttentionBuffers,
        scratch: borrowing DecodeScratch
    ) {
        if heads == 8, headStep == 1, count == Self.keyBlock {
            @inline(__always) func transpose(
                _ source: UnsafePointer<Float>,
                into destination: UnsafeMutablePointer<Float>
            ) {
                for k in stride(from: 0, to: Self.keyBlock, by: 8) {
                    @inline(__always) func scales(_ i: Int) -> SIMD8<Float> {
                        UnsafeRawPointer(source + firstRow + (k + i) * step).loadUnaligned(as: SIMD8<Float>.self)
                    }
                    VectorMath.storeTransposed(
                        scales(0),
                        scales(1),
                        scales(2),
                        scales(3),
                        scales(4),
                        scales(5),
                        scales(6),
                        scales(7),
                        to: destination + k,
                        stride: Self.keyBlock
                    )
                }
            }
            transpose(buffers.keys.scales, into: scratch.keyScales)
            transpose(buffers.values.scales, into: scratch.valueScales)
            return
        }
        for h in 0..<heads {
            let row = firstRow + h * headStep
            for k in 0..<Self.keyBlock {
                let index = row + min(k, count - 1) * step
                scratch.keyScales[h * Self.keyBlock + k] = buffers.keys.scales[index]
                scratch.valueScales[h * Self.keyBlock + k] = buffers.values.scales[index]
            }
        }
    }

    /// Turns the block scores of every row of the item's `heads` heads into softmax weights, updating
    /// each row's running maximum and sum and setting its rescale factor; the value weights get the
    /// value row scales when `scaled`. Key and query scales, softcap, ALiBi and masks are applied
    /// first, in place, by `adjust` (when any applies; on the integer path the plain scales are
    /// applied on the fly instead). With `integer` the weights are quantised for
    /// `integerAccumulate`, else stored as `Float`. A row that sees no key of the block (all scores
    /// `-infinity`) keeps its state and gets zero weights.
    ///
    /// Passes over all rows, each one call: maxima and rescale factors, then every exponential,
    /// then sums and weights, then (integer) the weights' quantisation. The rows of a pass are
    /// independent of each other, so each pass keeps many of them in flight at once (the
    /// exponentials above all).
    private func softmax(
        rows: Int,
        rowCount: Int,
        heads: Int,
        keyStart: Int,
        count: Int,
        masked: Bool,
        keyCount: Int,
        scaled: Bool,
        integer: Bool,
        scratch: borrowing DecodeScratch
    ) {
        let special = masked || count < Self.keyBlock || options.softcap != nil || options.alibiSlopes != nil
        if special || (scaled && !integer) {
            for head in 0..<heads {
                adjust(
                    rows: rows,
                    rowCount: rowCount,
                    head: head,
                    keyStart: keyStart,
                    count: count,
                    masked: masked,
                    keyCount: keyCount,
                    scaled: scaled,
                    scratch: scratch
                )
            }
        }
        let total = heads * rowCount
        newMaxima(rows: total, rowCount: rowCount, scaleKeys: integer && !special, scratch: scratch)
        exponentials(rows: total, scratch: scratch)
        finish(rows: total, rowCount: rowCount, scaled: scaled, scratch: scratch)
        if integer { quantiseWeights(rows: total, scratch: scratch) }
    }

    /// First softmax pass over the first `rows` rows (`rowCount` per head), 4 at a time: the
    /// scores multiplied by their head's key scales and the row's query scale when `scaleKeys`,
    /// then each row's new running maximum (in `rowMax`), its rescale factor (in `rowAlpha`) and
    /// its exponent shift for the block (in `rowExponentShift`: `-infinity` when the row sees none
    /// of the block's keys). One call for all rows, so that the work of consecutive row blocks
    /// overlaps.
    @inline(never)
    private func newMaxima(rows: Int, rowCount: Int, scaleKeys: Bool, scratch: borrowing DecodeScratch) {
        var row = 0
        while row < rows {
            newMaxima(
                row: row,
                keyScales: scaleKeys ? scratch.keyScales + row / rowCount * Self.keyBlock : nil,
                scratch: scratch
            )
            row += Self.rowBlock
        }
    }

    /// `newMaxima` for the 4 rows from `row`, with the key scales at `keyScales` when given.
    @inline(__always)
    private func newMaxima(row: Int, keyScales: UnsafePointer<Float>?, scratch: borrowing DecodeScratch) {
        let s = scratch.scores + row * Self.keyBlock
        if let keyScales {
            let scales = TileMicroKernels.load(keyScales)
            for i in 0..<Self.rowBlock {
                let x = s + i * Self.keyBlock
                TileMicroKernels.store(
                    TileMicroKernels.load(x) * scales * SIMD16(repeating: scratch.rowQueryScale[row + i]),
                    x
                )
            }
        }
        let x0 = TileMicroKernels.load(s)
        let x1 = TileMicroKernels.load(s + 16)
        let x2 = TileMicroKernels.load(s + 32)
        let x3 = TileMicroKernels.load(s + 48)
        let previous = UnsafeRawPointer(scratch.rowMax + row).loadUnaligned(as: SIMD4<Float>.self)
        let blockMax = Self.maxima(x0, x1, x2, x3)
        let newMax = VectorMath.maximum(previous, blockMax)
        var alpha = SIMD4<Float>(repeating: 1)
        if any(newMax .!= previous) {
            let d = previous - newMax
            alpha = VectorMath.exp(SIMD8(lowHalf: d, highHalf: d)).lowHalf.replacing(
                with: 1,
                where: newMax .== previous
            )
        }
        let shift = VectorMath.exponentShift(maximum: newMax)
        #if arch(x86_64)
        let exponentShift = _mm_blendv_ps(
            shift,
            SIMD4(repeating: -.infinity),
            _mm_cmpeq_ps(blockMax, SIMD4(repeating: -.infinity))
        )
        #else
        let exponentShift = shift.replacing(with: -.infinity, where: blockMax .== -.infinity)
        #endif
        let raw = UnsafeMutableRawPointer.self
        raw.init(scratch.rowExponentShift + row).storeBytes(of: exponentShift, as: SIMD4<Float>.self)
        raw.init(scratch.rowMax + row).storeBytes(of: newMax, as: SIMD4<Float>.self)
        raw.init(scratch.rowAlpha + row).storeBytes(of: alpha, as: SIMD4<Float>.self)
    }

    /// Second softmax pass: `e^(s - max)`, computed by `VectorMath.exp(_:shift:)` with the row's
    /// exponent shift, replaces the scores of the first `rows` rows, 8 keys at a time with one
    /// inlined exponential (the optimizer stops inlining into a function that grows too large).
    /// Branch-free: a row that sees no key of the block has shift `-infinity` and gets zeros (NaN
    /// scores count as seen, so that they reach the output).
    @inline(never)
    private func exponentials(rows: Int, scratch: borrowing DecodeScratch) {
        for i in 0..<2 * rows {
            let lane = scratch.scores + 8 * i
            let shift = SIMD8(repeating: scratch.rowExponentShift[i / 2])
            TileMicroKernels.store8(VectorMath.exp(TileMicroKernels.load8(lane), shift: shift), lane)
        }
    }

    /// Last softmax pass over the first `rows` rows (`rowCount` per head), 4 at a time: their block
    /// sums by a transposed tree (a fixed order) into the running sums, and their value weights
    /// (times their head's value scales when `scaled`). One call for all rows.
    @inline(never)
    private func finish(rows: Int, rowCount: Int, scaled: Bool, scratch: borrowing DecodeScratch) {
        var row = 0
        while row < rows {
            let valueScales =
                scaled
                ? TileMicroKernels.load(scratch.valueScales + row / rowCount * Self.keyBlock) : SIMD16(repeating: 1)
            finish(row: row, valueScales: valueScales, scratch: scratch)
            row += Self.rowBlock
        }
    }

    /// `finish` for the 4 rows from `row`.
    @inline(__always)
    private func finish(row: Int, valueScales: SIMD16<Float>, scratch: borrowing DecodeScratch) {
        let s = scratch.scores + row * Self.keyBlock
        @inline(__always) func halves(_ r: Int) -> SIMD8<Float> {
            TileMicroKernels.load8(s + r * Self.keyBlock) + TileMicroKernels.load8(s + r * Self.keyBlock + 8)
        }
        let blockSum = VectorMath.laneSums(halves(0), halves(1), halves(2), halves(3))
        for i in 0..<Self.rowBlock {
            let weights = TileMicroKernels.load(s + i * Self.keyBlock) * valueScales
            TileMicroKernels.store(weights, scratch.weights + (row + i) * Self.keyBlock)
        }
        let sum = UnsafeRawPointer(scratch.rowSum + row).loadUnaligned(as: SIMD4<Float>.self)
        let alpha = UnsafeRawPointer(scratch.rowAlpha + row).loadUnaligned(as: SIMD4<Float>.self)
        UnsafeMutableRawPointer(scratch.rowSum + row).storeBytes(of: sum * alpha + blockSum, as: SIMD4<Float>.self)
    }

    /// Applies to the block scores of every row of head `head` of the item, in place: the key
    /// scales and the row's query scale (when `scaled`), softcap, ALiBi, and `-infinity` for keys
    /// past `count` and, when `masked`, for keys the row's position does not see. Padding rows
    /// (from `rows` on) are left unmasked.
    private func adjust(
        rows: Int,
        rowCount: Int,
        head: Int,
        keyStart: Int,
        count: Int,
        masked: Bool,
        keyCount: Int,
        scaled: Bool,
        scratch: borrowing DecodeScratch
    ) {
        let headRow = head * rowCount
        let visibility = options.visibility
        let keyScales = scaled ? TileMicroKernels.load(scratch.keyScales + head * Self.keyBlock) : SIMD16(repeating: 1)
        let laneFloat = SIMD16<Float>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
        for r in 0..<rowCount {
            let row = headRow + r
            let position = scratch.rowPosition[row]
            var first = 0
            var last = count - 1
            if masked, r < rows {
                first = max(visibility.firstKey(position: position), keyStart) - keyStart
                last = min(visibility.lastKey(position: position, keyCount: keyCount), keyStart + count - 1) - keyStart
                if !visibility.tileAllowed(position: position, keyTile: keyStart / TileMicroKernels.keyTile) {
                    last = -1
                }
            }
            let s = scratch.scores + row * Self.keyBlock
            var x = TileMicroKernels.load(s)
            if scaled { x *= keyScales * SIMD16(repeating: scratch.rowQueryScale[row]) }
            if let cap = options.softcap {
                x = SIMD16(repeating: cap) * VectorMath.tanh(x * SIMD16(repeating: 1 / cap))
            }
            if options.alibiSlopes != nil {
                x.addProduct(
                    SIMD16(repeating: scratch.rowSlope[row]),
                    SIMD16(repeating: Float(keyStart - position)) + laneFloat
                )
            }
            if first > 0 || last < Self.keyBlock - 1 {
                x = VectorMath.maskOutside(x, offset: 0, first: Float(first), last: Float(last))
            }
            TileMicroKernels.store(x, s)
        }
    }

    /// The largest lane of each of four vectors, by a transposed tree.
    @inline(__always)
    static func maxima(
        _ a: SIMD16<Float>,
        _ b: SIMD16<Float>,
        _ c: SIMD16<Float>,
        _ d: SIMD16<Float>
    ) -> SIMD4<Float> {
        @inline(__always) func pairs(_ x: SIMD8<Float>, _ y: SIMD8<Float>) -> SIMD8<Float> {
            VectorMath.maximum(
                SIMD8(lowHalf: x.evenHalf, highHalf: y.evenHalf),
                SIMD8(lowHalf: x.oddHalf, highHalf: y.oddHalf)
            )
        }
        let v = pairs(
            pairs(VectorMath.maximum(a.lowHalf, a.highHalf), VectorMath.maximum(b.lowHalf, b.highHalf)),
            pairs(VectorMath.maximum(c.lowHalf, c.highHalf), VectorMath.maximum(d.lowHalf, d.highHalf))
        )
        return VectorMath.maximum(v.evenHalf, v.oddHalf)
    }

    /// `o[r] = alpha[r] * o[r] + Σ_k w[r][k] * v[k]` over the block's `count` value rows, for every
    /// row of every head; keys are taken in chunks of about `valueChunkBytes` per head across the
    /// heads, so a page is read close to address order.
    private func accumulate<E: KVElement>(
        _: E.Type,
        heads: Int,
        rowCount: Int,
        values: UnsafeRawPointer,
        headStep: Int,
        step: Int,
        count: Int,
        prefetch: PrefetchSlices,
        scratch: borrowing DecodeScratch
    ) {
        let keysPerChunk = self.keysPerChunk(E.self)
        var start = 0
        while start < count {
            let chunk = min(keysPerChunk, count - start)
            for h in 0..<heads {
                prefetch.prefetch(slice: start / keysPerChunk * heads + h)
                var r = h * rowCount
                while r < (h + 1) * rowCount {
                    accumulate(
                        E.self,
                        row: r,
                        values: values + h * headStep + start * step,
                        step: step,
                        keys: start..<start + chunk,
                        rescale: start == 0,
                        scratch: scratch
                    )
                    r += Self.rowBlock
                }
            }
            start += chunk
        }
    }

    /// Keys per chunk of the `Float` value pass: about `valueChunkBytes` of one head's rows.
    private func keysPerChunk<E: KVElement>(_: E.Type) -> Int {
        max(4, Self.valueChunkBytes / (headDim * E.size))
    }

    /// `accumulate` for 4 rows from `row` and the value rows of `keys`, the first at `values`.
    @inline(__always)
    private func accumulate<E: KVElement>(
        _: E.Type,
        row: Int,
        values: UnsafeRawPointer,
        step: Int,
        keys: Range<Int>,
        rescale: Bool,
        scratch: borrowing DecodeScratch
    ) {
        let dim = headDim
        let w = UnsafePointer(scratch.weights + row * Self.keyBlock)
        let o0 = scratch.output + row * dim
        let o1 = o0 + dim
        let o2 = o1 + dim
        let o3 = o2 + dim
        let alpha = scratch.rowAlpha + row
        let one = SIMD8<Float>(repeating: 1)
        let a0 = rescale ? SIMD8(repeating: alpha[0]) : one
        let a1 = rescale ? SIMD8(repeating: alpha[1]) : one
        let a2 = rescale ? SIMD8(repeating: alpha[2]) : one
        let a3 = rescale ? SIMD8(repeating: alpha[3]) : one
        var c = 0
        while c + 16 <= dim {
            var c00 = TileMicroKernels.load8(o0 + c) * a0
            var c01 = TileMicroKernels.load8(o0 + c + 8) * a0
            var c10 = TileMicroKernels.load8(o1 + c) * a1
            var c11 = TileMicroKernels.load8(o1 + c + 8) * a1
            var c20 = TileMicroKernels.load8(o2 + c) * a2
            var c21 = TileMicroKernels.load8(o2 + c + 8) * a2
            var c30 = TileMicroKernels.load8(o3 + c) * a3
            var c31 = TileMicroKernels.load8(o3 + c + 8) * a3
            var v = values + c * E.size
            for k in keys {
                let v0 = E.load8(v)
                let v1 = E.load8(v + 8 * E.size)
                let b0 = SIMD8(repeating: w[k])
                let b1 = SIMD8(repeating: w[16 + k])
                c00.addProduct(b0, v0)
                c01.addProduct(b0, v1)
                c10.addProduct(b1, v0)
                c11.addProduct(b1, v1)
                let b2 = SIMD8(repeating: w[32 + k])
                let b3 = SIMD8(repeating: w[48 + k])
                c20.addProduct(b2, v0)
                c21.addProduct(b2, v1)
                c30.addProduct(b3, v0)
                c31.addProduct(b3, v1)
                v += step
            }
            TileMicroKernels.store8(c00, o0 + c)
            TileMicroKernels.store8(c01, o0 + c + 8)
            TileMicroKernels.store8(c10, o1 + c)
            TileMicroKernels.store8(c11, o1 + c + 8)
            TileMicroKernels.store8(c20, o2 + c)
            TileMicroKernels.store8(c21, o2 + c + 8)
            TileMicroKernels.store8(c30, o3 + c)
            TileMicroKernels.store8(c31, o3 + c + 8)
            c += 16
        }
        if c < dim {
            var c0 = TileMicroKernels.load8(o0 + c) * a0
            var c1 = TileMicroKernels.load8(o1 + c) * a1
            var c2 = TileMicroKernels.load8(o2 + c) * a2
            var c3 = TileMicroKernels.load8(o3 + c) * a3
            var v = values + c * E.size
            for k in keys {
                let x = E.load8(v)
                c0.addProduct(SIMD8(repeating: w[k]), x)
                c1.addProduct(SIMD8(repeating: w[16 + k]), x)
                c2.addProduct(SIMD8(repeating: w[32 + k]), x)
                c3.addProduct(SIMD8(repeating: w[48 + k]), x)
                v += step
            }
            TileMicroKernels.store8(c0, o0 + c)
            TileMicroKernels.store8(c1, o1 + c)
            TileMicroKernels.store8(c2, o2 + c)
            TileMicroKernels.store8(c3, o3 + c)
        }
    }
}

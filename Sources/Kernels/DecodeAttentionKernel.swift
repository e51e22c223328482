import Foundation

/// Streaming kernel for few query rows (decode and short multi-token decode): one item is a
/// sequence and a range of its KV heads, with the query rows of every query head of each group and
/// every query token, so each K/V row is read from memory once for the whole group.
///
/// Keys are streamed straight from storage in blocks of up to 16 consecutive slots of one page
/// (never crossing a 64-key block-sparse tile). A block is processed for every KV head of the item
/// at once and read in address order: scores key pair by key pair across the heads, values in
/// chunks of 2 KB per head across the heads, while the cache lines of the next block's rows are
/// prefetched a few per key pair and head, so that its cache misses overlap the arithmetic. Scores of 4 rows × 2 keys are accumulated as `SIMD8`
/// partials along the head dimension and reduced with a transposed pairwise-add tree. For int8
/// keys the query rows are quantised to `Int16` and scores are exact integer dot products
/// (`vpmaddwd`); int8 row scales are folded into the scores and into the value weights, so no row
/// is dequantised into memory. Results depend only on the item, never on the thread running it.
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
    func run(kvHeads: Range<Int>, sequence: AttentionSequence, buffers: AttentionBuffers, scratch: borrowing DecodeScratch) {
        switch buffers.keys.storage {
        case .f32: run(F32Element.self, kvHeads: kvHeads, sequence: sequence, buffers: buffers, scratch: scratch)
        case .f16: run(F16Element.self, kvHeads: kvHeads, sequence: sequence, buffers: buffers, scratch: scratch)
        case .bf16: run(BF16Element.self, kvHeads: kvHeads, sequence: sequence, buffers: buffers, scratch: scratch)
        case .int8: run(Int8Element.self, kvHeads: kvHeads, sequence: sequence, buffers: buffers, scratch: scratch)
        }
    }

    private func run<E: KVElement>(
        _: E.Type, kvHeads: Range<Int>, sequence: AttentionSequence, buffers: AttentionBuffers,
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
                (scratch.integerQueries + (headRow + r) * dim).update(repeating: 0, count: dim)
                scratch.rowQueryScale[headRow + r] = 0
                scratch.rowPosition[headRow + r] = 0
                continue
            }
            let token = r / group
            let head = kvHead * group + r % group
            let source = buffers.queries + sequence.queryBase + token * sequence.queryTokenStride
                + head * sequence.queryHeadStride
            for d in 0..<dim { destination[d] = source[d] * options.scale }
            if integerPath { quantise(row: headRow + r, scratch: scratch) }
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
        var key = firstKey
        while key <= lastKey {
            let firstRun = sequence.keyRows.run(head: kvHeads.lowerBound, token: key, pageTable: buffers.pageTable)
            let tileEnd = (key / TileMicroKernels.keyTile + 1) * TileMicroKernels.keyTile
            let count = min(Self.keyBlock, firstRun.count, lastKey + 1 - key, tileEnd - key)
            let coverage = visibility.classify(
                keyStart: key, count: count, firstPosition: firstPosition, lastPosition: lastPosition,
                keyCount: sequence.keyCount)
            // The next block's rows, prefetched a slice per key pair of this block.
            var upcoming = Upcoming(
                keys: buffers.keys.bytes, values: buffers.values.bytes, rowBytes: rowBytes, rows: 0)
            let next = key + count
            if next <= lastKey {
                let nextRun = sequence.keyRows.run(head: kvHeads.lowerBound, token: next, pageTable: buffers.pageTable)
                upcoming = Upcoming(
                    keys: buffers.keys.bytes + nextRun.row * rowBytes,
                    values: buffers.values.bytes + nextRun.row * rowBytes, rowBytes: rowBytes,
                    rows: (min(Self.keyBlock, nextRun.count, lastKey + 1 - next) - 1) * nextRun.step + kvHeads.count)
            }
            if coverage != .hidden {
                let headStep = kvHeads.count > 1
                    ? (sequence.keyRows.run(head: kvHeads.lowerBound + 1, token: key, pageTable: buffers.pageTable).row
                        - firstRun.row) * rowBytes
                    : 0
                let keyBase = buffers.keys.bytes + firstRun.row * rowBytes
                let valueBase = buffers.values.bytes + firstRun.row * rowBytes
                let step = firstRun.step * rowBytes
                if integerPath {
                    integerScores(
                        heads: kvHeads.count, rowCount: rowCount, keys: keyBase, headStep: headStep, step: step,
                        count: count, upcoming: upcoming, scratch: scratch)
                } else {
                    scores(
                        E.self, heads: kvHeads.count, rowCount: rowCount, keys: keyBase, headStep: headStep,
                        step: step, count: count, upcoming: upcoming, scratch: scratch)
                }
                for h in 0..<kvHeads.count {
                    let headRow = h * rowCount
                    if E.isScaled {
                        // Lanes past `count` repeat the last key's scales (their weights are 0).
                        let row = firstRun.row + h * headStep / rowBytes
                        for k in 0..<Self.keyBlock {
                            let index = row + min(k, count - 1) * firstRun.step
                            scratch.keyScales[k] = buffers.keys.scales[index]
                            scratch.valueScales[k] = buffers.values.scales[index]
                        }
                    }
                    softmax(
                        rows: rows, rowCount: rowCount, headRow: headRow, keyStart: key, count: count,
                        masked: coverage == .partial, keyCount: sequence.keyCount, scaled: E.isScaled,
                        scratch: scratch)
                }
                accumulate(
                    E.self, heads: kvHeads.count, rowCount: rowCount, values: valueBase, headStep: headStep,
                    step: step, count: count, scratch: scratch)
            }
            key += count
        }

        for kvHead in kvHeads {
        let headRow = (kvHead - kvHeads.lowerBound) * rowCount
        for r in 0..<rows {
            let token = r / group
            let head = kvHead * group + r % group
            let destination = buffers.output + sequence.queryBase + token * sequence.queryTokenStride
                + head * sequence.queryHeadStride
            let lseIndex = sequence.lseBase + token * sequence.lseTokenStride + head * sequence.lseHeadStride
            let sum = scratch.rowSum[headRow + r]
            if sum > 0 {
                let inverse = 1 / sum
                let source = scratch.output + (headRow + r) * dim
                for d in 0..<dim { destination[d] = source[d] * inverse }
                buffers.logSumExp[lseIndex] = scratch.rowMax[headRow + r] + Foundation.log(sum)
            } else {
                destination.update(repeating: 0, count: dim)
                buffers.logSumExp[lseIndex] = -.infinity
            }
        }
        }
    }

    /// The K and V rows of the block after the current one. Their cache lines are prefetched while
    /// the current block is computed, a slice at a time, so that their misses overlap the
    /// arithmetic (the blocks of a paged sequence are scattered).
    struct Upcoming {
        let keys: UnsafeRawPointer
        let values: UnsafeRawPointer
        let rowBytes: Int
        /// Rows to prefetch (0 when there is no next block).
        let rows: Int

        /// Prefetches slice `index` of `slices` of the rows' cache lines.
        @inline(__always)
        func prefetch(slice index: Int, of slices: Int) {
            let lines = (rows * rowBytes + Prefetch.lineBytes - 1) / Prefetch.lineBytes
            for line in (index * lines / slices)..<((index + 1) * lines / slices) {
                Prefetch.line(keys + line * Prefetch.lineBytes)
                Prefetch.line(values + line * Prefetch.lineBytes)
            }
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
        _: E.Type, heads: Int, rowCount: Int, keys: UnsafeRawPointer, headStep: Int, step: Int, count: Int,
        upcoming: Upcoming, scratch: borrowing DecodeScratch
    ) {
        let dim = headDim
        let totalRows = heads * rowCount
        let halves = (count + 7) / 8
        for half in 0..<halves {
            for pair in 0..<4 {
                let first = min(half * 8 + pair * 2, count - 1)
                let second = min(first + 1, count - 1)
                for h in 0..<heads {
                    upcoming.prefetch(slice: (half * 4 + pair) * heads + h, of: halves * 4 * heads)
                    let ka = keys + h * headStep + first * step, kb = keys + h * headStep + second * step
                    var r = h * rowCount
                    while r < (h + 1) * rowCount {
                        let q0 = UnsafePointer(scratch.queries + r * dim), q1 = q0 + dim, q2 = q1 + dim, q3 = q2 + dim
                        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
                        var b0 = SIMD8<Float>(), b1 = SIMD8<Float>(), b2 = SIMD8<Float>(), b3 = SIMD8<Float>()
                        var d = 0
                        while d < dim {
                            let x = E.load8(ka + d * E.size), y = E.load8(kb + d * E.size)
                            let u0 = TileMicroKernels.load8(q0 + d), u1 = TileMicroKernels.load8(q1 + d)
                            a0.addProduct(u0, x); b0.addProduct(u0, y)
                            a1.addProduct(u1, x); b1.addProduct(u1, y)
                            let u2 = TileMicroKernels.load8(q2 + d), u3 = TileMicroKernels.load8(q3 + d)
                            a2.addProduct(u2, x); b2.addProduct(u2, y)
                            a3.addProduct(u3, x); b3.addProduct(u3, y)
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

    /// Quantises query row `row` to `Int16` for the int8 score path, its elements reordered per 32 as
    /// the 16 even then the 16 odd ones (the order `PairedMultiplyAdd.splitBytes` gives the keys),
    /// with one scale per row. The largest magnitude maps to at most 32767, and less when the head
    /// dimension is so large that a full dot product could overflow `Int32`; non-finite elements
    /// quantise to 0.
    private func quantise(row: Int, scratch: borrowing DecodeScratch) {
        let dim = headDim
        let source = scratch.queries + row * dim
        let destination = scratch.integerQueries + row * dim
        var largest: Float = 0
        for d in 0..<dim where source[d].magnitude > largest && source[d].isFinite {
            largest = source[d].magnitude
        }
        let limit = Float(min(32767, Int(Int32.max) / (127 * dim)))
        let scale = largest / limit
        let inverse = largest > 0 ? limit / largest : 0
        for d in 0..<dim {
            let value = (source[d] * inverse).rounded()
            let q = value.magnitude <= limit ? Int16(value) : 0
            let chunk = d / 32 * 32, offset = d % 32
            destination[chunk + offset % 2 * 16 + offset / 2] = q
        }
        scratch.rowQueryScale[row] = scale
    }

    /// `scores` for int8 keys: `Int16` queries against keys widened to `Int16`, multiplied and added
    /// in pairs into `Int32`, converted and scaled by the row's query scale (the key scales are
    /// applied in `softmax`). Needs a head dimension divisible by 32.
    private func integerScores(
        heads: Int, rowCount: Int, keys: UnsafeRawPointer, headStep: Int, step: Int, count: Int,
        upcoming: Upcoming, scratch: borrowing DecodeScratch
    ) {
        let dim = headDim
        let totalRows = heads * rowCount
        let halves = (count + 7) / 8
        for half in 0..<halves {
            for pair in 0..<4 {
                let first = min(half * 8 + pair * 2, count - 1)
                let second = min(first + 1, count - 1)
                for h in 0..<heads {
                    upcoming.prefetch(slice: (half * 4 + pair) * heads + h, of: halves * 4 * heads)
                    let ka = keys + h * headStep + first * step, kb = keys + h * headStep + second * step
                    var r = h * rowCount
                    while r < (h + 1) * rowCount {
                        let q0 = UnsafeRawPointer(scratch.integerQueries + r * dim), q1 = q0 + 2 * dim
                        let q2 = q1 + 2 * dim, q3 = q2 + 2 * dim
                        var a0 = SIMD8<Int32>(), a1 = SIMD8<Int32>(), a2 = SIMD8<Int32>(), a3 = SIMD8<Int32>()
                        var b0 = SIMD8<Int32>(), b1 = SIMD8<Int32>(), b2 = SIMD8<Int32>(), b3 = SIMD8<Int32>()
                        var d = 0
                        while d < dim {
                            let x = PairedMultiplyAdd.splitBytes(ka + d), y = PairedMultiplyAdd.splitBytes(kb + d)
                            let e0 = q0.loadUnaligned(fromByteOffset: 2 * d, as: SIMD16<Int16>.self)
                            let o0 = q0.loadUnaligned(fromByteOffset: 2 * d + 32, as: SIMD16<Int16>.self)
                            a0 &+= PairedMultiplyAdd.apply(x.even, e0) &+ PairedMultiplyAdd.apply(x.odd, o0)
                            b0 &+= PairedMultiplyAdd.apply(y.even, e0) &+ PairedMultiplyAdd.apply(y.odd, o0)
                            let e1 = q1.loadUnaligned(fromByteOffset: 2 * d, as: SIMD16<Int16>.self)
                            let o1 = q1.loadUnaligned(fromByteOffset: 2 * d + 32, as: SIMD16<Int16>.self)
                            a1 &+= PairedMultiplyAdd.apply(x.even, e1) &+ PairedMultiplyAdd.apply(x.odd, o1)
                            b1 &+= PairedMultiplyAdd.apply(y.even, e1) &+ PairedMultiplyAdd.apply(y.odd, o1)
                            let e2 = q2.loadUnaligned(fromByteOffset: 2 * d, as: SIMD16<Int16>.self)
                            let o2 = q2.loadUnaligned(fromByteOffset: 2 * d + 32, as: SIMD16<Int16>.self)
                            a2 &+= PairedMultiplyAdd.apply(x.even, e2) &+ PairedMultiplyAdd.apply(x.odd, o2)
                            b2 &+= PairedMultiplyAdd.apply(y.even, e2) &+ PairedMultiplyAdd.apply(y.odd, o2)
                            let e3 = q3.loadUnaligned(fromByteOffset: 2 * d, as: SIMD16<Int16>.self)
                            let o3 = q3.loadUnaligned(fromByteOffset: 2 * d + 32, as: SIMD16<Int16>.self)
                            a3 &+= PairedMultiplyAdd.apply(x.even, e3) &+ PairedMultiplyAdd.apply(x.odd, o3)
                            b3 &+= PairedMultiplyAdd.apply(y.even, e3) &+ PairedMultiplyAdd.apply(y.odd, o3)
                            d += 32
                        }
                        let partials = scratch.partials + r * 4 + pair
                        partials[0] = Self.combine(VectorMath.float(a0), VectorMath.float(b0))
                        partials[4] = Self.combine(VectorMath.float(a1), VectorMath.float(b1))
                        partials[8] = Self.combine(VectorMath.float(a2), VectorMath.float(b2))
                        partials[12] = Self.combine(VectorMath.float(a3), VectorMath.float(b3))
                        r += Self.rowBlock
                    }
                }
            }
            for r in 0..<totalRows {
                let p = scratch.partials + r * 4
                let sums = Self.combine(Self.combine(p[0], p[1]), Self.combine(p[2], p[3]))
                    * SIMD8(repeating: scratch.rowQueryScale[r])
                TileMicroKernels.store8(sums, scratch.scores + r * Self.keyBlock + half * 8)
            }
        }
    }

    /// Turns each row's block scores into softmax weights (the block's key scales folded in when
    /// `scaled`, softcap, ALiBi, masks), updating its running maximum and sum and setting its
    /// rescale factor; the value weights get the value row scales. Rows go 4 at a time: their
    /// maxima and sums are reduced together by transposed trees and kept as `SIMD4`.
    private func softmax(
        rows: Int, rowCount: Int, headRow: Int, keyStart: Int, count: Int, masked: Bool, keyCount: Int,
        scaled: Bool, scratch: borrowing DecodeScratch
    ) {
        let block = Block(
            rows: rows, headRow: headRow, keyStart: keyStart, count: count, masked: masked, keyCount: keyCount,
            scaled: scaled)
        var r = 0
        while r < rowCount {
            let row = headRow + r
            let (x0, v0) = prepared(row: r, of: block, scratch: scratch)
            let (x1, v1) = prepared(row: r + 1, of: block, scratch: scratch)
            let (x2, v2) = prepared(row: r + 2, of: block, scratch: scratch)
            let (x3, v3) = prepared(row: r + 3, of: block, scratch: scratch)
            // Rows that see no key of the block keep their state and get zero weights.
            let visible = SIMD4<Int32>(v0 ? -1 : 0, v1 ? -1 : 0, v2 ? -1 : 0, v3 ? -1 : 0) .!= 0
            let previous = UnsafeRawPointer(scratch.rowMax + row).loadUnaligned(as: SIMD4<Float>.self)
            let blockMax = Self.maxima(x0, x1, x2, x3)
            let newMax = VectorMath.maximum(previous, blockMax).replacing(with: previous, where: .!visible)
            var alpha = SIMD4<Float>(repeating: 1)
            if any(newMax .!= previous) {
                let d = previous - newMax
                let d8 = SIMD8(lowHalf: d, highHalf: d)
                alpha = VectorMath.exp(SIMD16(lowHalf: d8, highHalf: d8)).lowHalf.lowHalf
                    .replacing(with: 1, where: .!visible)
            }
            let p0 = v0 ? VectorMath.exp(x0 - SIMD16(repeating: newMax[0])) : SIMD16()
            let p1 = v1 ? VectorMath.exp(x1 - SIMD16(repeating: newMax[1])) : SIMD16()
            let p2 = v2 ? VectorMath.exp(x2 - SIMD16(repeating: newMax[2])) : SIMD16()
            let p3 = v3 ? VectorMath.exp(x3 - SIMD16(repeating: newMax[3])) : SIMD16()
            let w = scratch.weights + row * Self.keyBlock
            if scaled {
                let valueScales = TileMicroKernels.load(scratch.valueScales)
                TileMicroKernels.store(p0 * valueScales, w); TileMicroKernels.store(p1 * valueScales, w + 16)
                TileMicroKernels.store(p2 * valueScales, w + 32); TileMicroKernels.store(p3 * valueScales, w + 48)
            } else {
                TileMicroKernels.store(p0, w); TileMicroKernels.store(p1, w + 16)
                TileMicroKernels.store(p2, w + 32); TileMicroKernels.store(p3, w + 48)
            }
            let sum = UnsafeRawPointer(scratch.rowSum + row).loadUnaligned(as: SIMD4<Float>.self)
            let raw = UnsafeMutableRawPointer.self
            raw.init(scratch.rowMax + row).storeBytes(of: newMax, as: SIMD4<Float>.self)
            let newSum = sum * alpha + Self.sums(p0, p1, p2, p3)
            raw.init(scratch.rowSum + row).storeBytes(of: newSum, as: SIMD4<Float>.self)
            raw.init(scratch.rowAlpha + row).storeBytes(of: alpha, as: SIMD4<Float>.self)
            r += 4
        }
    }

    /// What `softmax` knows of the block and head it works on.
    private struct Block {
        let rows: Int
        let headRow: Int
        let keyStart: Int
        let count: Int
        let masked: Bool
        let keyCount: Int
        let scaled: Bool
    }

    /// Row `r` (of the head at `block.headRow`)'s block scores with key scales, softcap, ALiBi and
    /// masks applied (hidden keys at `-infinity`), and whether it sees any key of the block.
    @inline(__always)
    private func prepared(row r: Int, of block: Block, scratch: borrowing DecodeScratch) -> (SIMD16<Float>, Bool) {
        let (rows, headRow, keyStart, count) = (block.rows, block.headRow, block.keyStart, block.count)
        let (masked, keyCount, scaled) = (block.masked, block.keyCount, block.scaled)
        let visibility = options.visibility
        var first = 0
        var last = count - 1
        let position = scratch.rowPosition[headRow + r]
        if masked, r < rows {
            first = max(visibility.firstKey(position: position), keyStart) - keyStart
            last = min(visibility.lastKey(position: position, keyCount: keyCount), keyStart + count - 1) - keyStart
            let tile = keyStart / TileMicroKernels.keyTile
            if !visibility.tileAllowed(position: position, keyTile: tile) { last = -1 }
        }
        if r >= rows || first > last { return (SIMD16(repeating: -.infinity), false) }
        var x = TileMicroKernels.load(scratch.scores + (headRow + r) * Self.keyBlock)
        if scaled { x *= TileMicroKernels.load(scratch.keyScales) }
        if let cap = options.softcap {
            x = SIMD16(repeating: cap) * VectorMath.tanh(x * SIMD16(repeating: 1 / cap))
        }
        if options.alibiSlopes != nil {
            let laneFloat = SIMD16<Float>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
            x.addProduct(
                SIMD16(repeating: scratch.rowSlope[headRow + r]),
                SIMD16(repeating: Float(keyStart - position)) + laneFloat)
        }
        if first > 0 || last < Self.keyBlock - 1 {
            x = VectorMath.maskOutside(x, offset: 0, first: Float(first), last: Float(last))
        }
        return (x, true)
    }

    /// The largest lane of each of four vectors, by a transposed tree.
    @inline(__always)
    private static func maxima(
        _ a: SIMD16<Float>, _ b: SIMD16<Float>, _ c: SIMD16<Float>, _ d: SIMD16<Float>
    ) -> SIMD4<Float> {
        func pairs(_ x: SIMD8<Float>, _ y: SIMD8<Float>) -> SIMD8<Float> {
            SIMD8(
                lowHalf: VectorMath.maximum(x.evenHalf, x.oddHalf), highHalf: VectorMath.maximum(y.evenHalf, y.oddHalf))
        }
        let v = pairs(
            pairs(VectorMath.maximum(a.lowHalf, a.highHalf), VectorMath.maximum(b.lowHalf, b.highHalf)),
            pairs(VectorMath.maximum(c.lowHalf, c.highHalf), VectorMath.maximum(d.lowHalf, d.highHalf)))
        return VectorMath.maximum(v.evenHalf, v.oddHalf)
    }

    /// The lane sum of each of four vectors, by a transposed tree (a fixed order).
    @inline(__always)
    private static func sums(
        _ a: SIMD16<Float>, _ b: SIMD16<Float>, _ c: SIMD16<Float>, _ d: SIMD16<Float>
    ) -> SIMD4<Float> {
        let v = combine(
            combine(a.lowHalf + a.highHalf, b.lowHalf + b.highHalf),
            combine(c.lowHalf + c.highHalf, d.lowHalf + d.highHalf))
        return v.evenHalf + v.oddHalf
    }

    /// `o[r] = alpha[r] * o[r] + Σ_k w[r][k] * v[k]` over the block's `count` value rows, for every
    /// row of every head; keys are taken in chunks of about `valueChunkBytes` per head across the
    /// heads, so a page is read close to address order.
    private func accumulate<E: KVElement>(
        _: E.Type, heads: Int, rowCount: Int, values: UnsafeRawPointer, headStep: Int, step: Int, count: Int,
        scratch: borrowing DecodeScratch
    ) {
        let keysPerChunk = max(4, Self.valueChunkBytes / (headDim * E.size))
        var start = 0
        while start < count {
            let chunk = min(keysPerChunk, count - start)
            for h in 0..<heads {
                var r = h * rowCount
                while r < (h + 1) * rowCount {
                    accumulate(
                        E.self, row: r, values: values + h * headStep + start * step, step: step,
                        keys: start..<start + chunk, rescale: start == 0, scratch: scratch)
                    r += Self.rowBlock
                }
            }
            start += chunk
        }
    }

    /// `accumulate` for 4 rows from `row` and the value rows of `keys`, the first at `values`.
    @inline(__always)
    private func accumulate<E: KVElement>(
        _: E.Type, row: Int, values: UnsafeRawPointer, step: Int, keys: Range<Int>, rescale: Bool,
        scratch: borrowing DecodeScratch
    ) {
        let dim = headDim
        let w = UnsafePointer(scratch.weights + row * Self.keyBlock)
        let o0 = scratch.output + row * dim, o1 = o0 + dim, o2 = o1 + dim, o3 = o2 + dim
        let alpha = scratch.rowAlpha + row
        let one = SIMD8<Float>(repeating: 1)
        let a0 = rescale ? SIMD8(repeating: alpha[0]) : one, a1 = rescale ? SIMD8(repeating: alpha[1]) : one
        let a2 = rescale ? SIMD8(repeating: alpha[2]) : one, a3 = rescale ? SIMD8(repeating: alpha[3]) : one
        var c = 0
        while c + 16 <= dim {
            var c00 = TileMicroKernels.load8(o0 + c) * a0, c01 = TileMicroKernels.load8(o0 + c + 8) * a0
            var c10 = TileMicroKernels.load8(o1 + c) * a1, c11 = TileMicroKernels.load8(o1 + c + 8) * a1
            var c20 = TileMicroKernels.load8(o2 + c) * a2, c21 = TileMicroKernels.load8(o2 + c + 8) * a2
            var c30 = TileMicroKernels.load8(o3 + c) * a3, c31 = TileMicroKernels.load8(o3 + c + 8) * a3
            var v = values + c * E.size
            for k in keys {
                let v0 = E.load8(v), v1 = E.load8(v + 8 * E.size)
                let b0 = SIMD8(repeating: w[k]), b1 = SIMD8(repeating: w[16 + k])
                c00.addProduct(b0, v0); c01.addProduct(b0, v1)
                c10.addProduct(b1, v0); c11.addProduct(b1, v1)
                let b2 = SIMD8(repeating: w[32 + k]), b3 = SIMD8(repeating: w[48 + k])
                c20.addProduct(b2, v0); c21.addProduct(b2, v1)
                c30.addProduct(b3, v0); c31.addProduct(b3, v1)
                v += step
            }
            TileMicroKernels.store8(c00, o0 + c); TileMicroKernels.store8(c01, o0 + c + 8)
            TileMicroKernels.store8(c10, o1 + c); TileMicroKernels.store8(c11, o1 + c + 8)
            TileMicroKernels.store8(c20, o2 + c); TileMicroKernels.store8(c21, o2 + c + 8)
            TileMicroKernels.store8(c30, o3 + c); TileMicroKernels.store8(c31, o3 + c + 8)
            c += 16
        }
        if c < dim {
            var c0 = TileMicroKernels.load8(o0 + c) * a0, c1 = TileMicroKernels.load8(o1 + c) * a1
            var c2 = TileMicroKernels.load8(o2 + c) * a2, c3 = TileMicroKernels.load8(o3 + c) * a3
            var v = values + c * E.size
            for k in keys {
                let x = E.load8(v)
                c0.addProduct(SIMD8(repeating: w[k]), x); c1.addProduct(SIMD8(repeating: w[16 + k]), x)
                c2.addProduct(SIMD8(repeating: w[32 + k]), x); c3.addProduct(SIMD8(repeating: w[48 + k]), x)
                v += step
            }
            TileMicroKernels.store8(c0, o0 + c); TileMicroKernels.store8(c1, o1 + c)
            TileMicroKernels.store8(c2, o2 + c); TileMicroKernels.store8(c3, o3 + c)
        }
    }
}

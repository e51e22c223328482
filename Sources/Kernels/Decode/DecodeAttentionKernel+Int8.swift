#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// The integer arithmetic of `DecodeAttentionKernel` for int8 K/V with a head dimension divisible
/// by 32. Scores multiply 16-bit integers in pairs (`vpmaddwd` and an add, which LLVM fuses into
/// `vpdpwssd` on a CPU with AVX-512 VNNI: 16 multiply-adds per instruction against 8 for a `Float`
/// FMA). The value pass multiplies 16-bit weights in pairs the same way or, when the kernels are
/// built with `AVX512_VNNI`, 8-bit weights in fours (`vpdpbusd`, 32 per instruction). So int8
/// storage cuts the arithmetic as well as the bytes read.
///
/// - Scores: each query row is quantised once to `Int16` (`quantiseQuery`); keys are widened to
///   `Int16` in registers; dot products are exact in `Int32` and reduced by
///   `VectorMath.laneSums`.
/// - Values: each row's softmax weights for a block (value row scales folded in) are quantised
///   against the row's largest weight in the block, which maps to `weightLimit`
///   (`quantiseWeights(rows:scratch:)`, called by the softmax). Without VNNI the weights are
///   `Int16` and value rows are taken two keys at a time, interleaved (`PairedMultiplyAdd`), so one
///   multiply-add covers both keys for 8 dimensions. With VNNI the weights are unsigned bytes and
///   value rows are taken four keys at a time (`QuadMultiplyAdd`). The `Int32` sums are converted
///   once per block and added to the `Float` output (`IntegerOutputUpdate`), which keeps the order
///   of the sums; `storeIntegerOutput` restores element order.
///
/// The 8-bit weights' cost in accuracy: each weight moves by at most 1/510 of its block's
/// largest, and a block's largest weight is at most its share of the row's mass, so the output
/// moves by at most `(keyBlock - 1) / (2 · weightLimit)` (2.9%) of the largest value magnitude.
/// The bound is approached only when one block holds almost all of a row's mass and its other
/// keys sit just under 1/510 of its largest (a short context with sharp attention; test
/// `integerWeightsBoundTheTailError`). On Gaussian K/V from
/// flat to sharp attention the output's relative L2 error against f32 storage of the same data was
/// 0.44–0.92% with 8-bit weights against 0.40–0.91% with 16-bit ones: most of the error is int8
/// storage's own. Builds with and without VNNI therefore give slightly different int8 outputs.
extension DecodeAttentionKernel {
    #if AVX512_VNNI
    /// Largest quantised weight: an unsigned byte (`QuadMultiplyAdd` multiplies 8-bit weights).
    static let weightLimit: Float = 255
    #else
    /// Largest quantised weight: a block's 16 weights times 127 sum to at most 16·127·32767 < 2^31.
    static let weightLimit: Float = 32767
    #endif

    /// Quantises query row `row` to `Int16` for the int8 score path, its elements reordered per 32 as
    /// the 16 even then the 16 odd ones (the order `PairedMultiplyAdd.splitBytes` gives the keys)
    /// and each 32 stored next to the same 32 of the other rows of its register block (the layout
    /// of `DecodeScratch.integerQueries`), with one scale per row. The largest magnitude maps to at
    /// most 32767, and less when the head dimension is so large that a full dot product could
    /// overflow `Int32`; elements round to the nearest integer (ties to even), and non-finite
    /// elements quantise to 0.
    func quantiseQuery(row: Int, scratch: borrowing DecodeScratch) {
        let dim = headDim
        let source = scratch.queries + row * dim
        let destination = UnsafeMutableRawPointer(
            scratch.integerQueries + row / Self.rowBlock * Self.rowBlock * dim + row % Self.rowBlock * 32
        )
        // The largest finite magnitude: a magnitude's bits below those of infinity mean finite.
        let infinityBits = SIMD8<Int32>(repeating: 0x7F80_0000)
        var largest = SIMD8<Float>()
        var d = 0
        while d < dim {
            let bits = unsafeBitCast(TileMicroKernels.load8(source + d), to: SIMD8<Int32>.self) & 0x7FFF_FFFF
            let finite = bits.replacing(with: 0, where: bits .>= infinityBits)
            largest = VectorMath.maximum(largest, unsafeBitCast(finite, to: SIMD8<Float>.self))
            d += 8
        }
        let top = VectorMath.horizontalMax(largest)
        let limit = Float(min(32767, Int(Int32.max) / (127 * dim)))
        let inverse = SIMD16<Float>(repeating: top > 0 ? limit / top : 0)
        var chunk = 0
        while chunk < dim {
            let first = TileMicroKernels.load(source + chunk)
            let second = TileMicroKernels.load(source + chunk + 16)
            let even = SIMD16(lowHalf: first.evenHalf, highHalf: second.evenHalf)
            let odd = SIMD16(lowHalf: first.oddHalf, highHalf: second.oddHalf)
            let offset = 2 * chunk * Self.rowBlock
            destination.storeBytes(of: VectorMath.int16(even * inverse), toByteOffset: offset, as: SIMD16<Int16>.self)
            destination.storeBytes(
                of: VectorMath.int16(odd * inverse),
                toByteOffset: offset + 32,
                as: SIMD16<Int16>.self
            )
            chunk += 32
        }
        scratch.rowQueryScale[row] = top / limit
    }

    /// Raw scores `q·k` of every row of every head against keys `0..<count` of the block, into
    /// `scores[row][k]`: `Int16` queries against keys widened to `Int16`, multiplied and added in
    /// pairs into `Int32` and converted (the softmax applies the query and key scales). Keys are
    /// visited pair by pair across the heads, so a page is read in address order; with an odd
    /// `count` lane `count` gets a copy of the last key's score, and later lanes are left as they
    /// were (`adjust` masks both).
    func integerScores(
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
        for pair in 0..<(count + 1) / 2 {
            let first = 2 * pair
            let second = min(first + 1, count - 1)
            for h in 0..<heads {
                prefetch.scorePass.prefetch(slice: pair * heads + h)
                let ka = keys + h * headStep + first * step
                let kb = keys + h * headStep + second * step
                var r = h * rowCount
                while r < (h + 1) * rowCount {
                    var a0 = SIMD8<Int32>()
                    var a1 = SIMD8<Int32>()
                    var a2 = SIMD8<Int32>()
                    var a3 = SIMD8<Int32>()
                    var b0 = SIMD8<Int32>()
                    var b1 = SIMD8<Int32>()
                    var b2 = SIMD8<Int32>()
                    var b3 = SIMD8<Int32>()
                    // The 4 rows' 32 elements lie together, 64 bytes apart: one pointer steps through
                    // them, and the keys by 32 bytes.
                    var q = UnsafeRawPointer(scratch.integerQueries + r * dim)
                    var a = ka
                    var b = kb
                    let end = ka + dim
                    while a < end {
                        let x = PairedMultiplyAdd.splitBytes(a)
                        let y = PairedMultiplyAdd.splitBytes(b)
                        /// Adds the products of query row `i` of the block with both keys to `p` and `s`.
                        @inline(__always) func add(_ i: Int, _ p: inout SIMD8<Int32>, _ s: inout SIMD8<Int32>) {
                            let even = q.loadUnaligned(fromByteOffset: 64 &* i, as: SIMD16<Int16>.self)
                            let odd = q.loadUnaligned(fromByteOffset: 64 &* i &+ 32, as: SIMD16<Int16>.self)
                            p &+= PairedMultiplyAdd.apply(x.even, even) &+ PairedMultiplyAdd.apply(x.odd, odd)
                            s &+= PairedMultiplyAdd.apply(y.even, even) &+ PairedMultiplyAdd.apply(y.odd, odd)
                        }
                        add(0, &a0, &b0)
                        add(1, &a1, &b1)
                        add(2, &a2, &b2)
                        add(3, &a3, &b3)
                        q += 256
                        a += 32
                        b += 32
                    }
                    // [row r: first, second, row r+1: first, second], then rows r+2 and r+3.
                    let upper = VectorMath.float(VectorMath.laneSums(a0, b0, a1, b1))
                    let lower = VectorMath.float(VectorMath.laneSums(a2, b2, a3, b3))
                    let destination = UnsafeMutableRawPointer(scratch.scores + r * Self.keyBlock + first)
                    let rowBytes = Self.keyBlock * MemoryLayout<Float>.size
                    destination.storeBytes(of: upper.lowHalf, as: SIMD2<Float>.self)
                    destination.storeBytes(of: upper.highHalf, toByteOffset: rowBytes, as: SIMD2<Float>.self)
                    destination.storeBytes(of: lower.lowHalf, toByteOffset: 2 * rowBytes, as: SIMD2<Float>.self)
                    destination.storeBytes(of: lower.highHalf, toByteOffset: 3 * rowBytes, as: SIMD2<Float>.self)
                    r += Self.rowBlock
                }
            }
        }
    }

    /// `o[r] = alpha[r] * o[r] + Σ_k w[r][k] * v[k]` over the block's `count` int8 value rows, for
    /// every row of every head, with the weights the softmax quantised per row and block. A head's
    /// value rows are read two (four with VNNI) at a time for each 16 (32) dimensions. The output
    /// rows keep the order of the sums (`storeIntegerOutput` restores element order).
    func integerAccumulate(
        heads: Int,
        rowCount: Int,
        values: UnsafeRawPointer,
        headStep: Int,
        step: Int,
        count: Int,
        prefetch: BlockPrefetch,
        scratch: borrowing DecodeScratch
    ) {
        for h in 0..<heads {
            var r = h * rowCount
            while r < (h + 1) * rowCount {
                integerAccumulate(
                    row: r,
                    values: values + h * headStep,
                    step: step,
                    count: count,
                    prefetch: r == h * rowCount ? prefetch.valuePass : .none,
                    firstSlice: h * headDim / 16,
                    scratch: scratch
                )
                r += Self.rowBlock
            }
        }
    }

    /// Quantises the block weights of the first `rows` rows (in `weights`) for `integerAccumulate`
    /// (to `Int16`, or to unsigned bytes with VNNI: the first 16 bytes of each row of
    /// `integerWeights`), each row against its largest weight, which maps to `weightLimit`, and
    /// records the rows' weight scales. Two passes, so that no long chain of dependent operations
    /// runs per row: each 4 rows' largest weights and sums by transposed trees, with one division
    /// for the 4 inverses; then every row's conversion. A row whose weights are all 0 gets scale 0;
    /// a NaN weight gives scale NaN (the row's weight sum is NaN exactly then, as weights are
    /// otherwise non-negative), so the row's output becomes NaN as it would in `Float` arithmetic.
    @inline(never)
    func quantiseWeights(rows: Int, scratch: borrowing DecodeScratch) {
        let limit = SIMD4<Float>(repeating: Self.weightLimit)
        var row = 0
        while row < rows {
            let w = scratch.weights + row * Self.keyBlock
            @inline(__always) func weights(_ i: Int) -> SIMD16<Float> { TileMicroKernels.load(w + i * Self.keyBlock) }
            let w0 = weights(0)
            let w1 = weights(1)
            let w2 = weights(2)
            let w3 = weights(3)
            let largest = Self.maxima(w0, w1, w2, w3)
            @inline(__always) func halves(_ w: SIMD16<Float>) -> SIMD8<Float> { w.lowHalf + w.highHalf }
            let sum = VectorMath.laneSums(halves(w0), halves(w1), halves(w2), halves(w3))
            #if arch(x86_64)
            let usable = _mm_and_ps(_mm_cmpgt_ps(largest, SIMD4()), _mm_cmplt_ps(largest, SIMD4(repeating: .infinity)))
            let inverse = _mm_and_ps(_mm_div_ps(limit, largest), usable)
            let scale = _mm_blendv_ps(_mm_div_ps(largest, limit), SIMD4(repeating: .nan), _mm_cmpunord_ps(sum, sum))
            #else
            let usable = (largest .> 0) .& (largest .< .infinity)
            let inverse = (limit / largest).replacing(with: 0, where: .!usable)
            let scale = (largest / limit).replacing(with: .nan, where: sum .!= sum)
            #endif
            UnsafeMutableRawPointer(scratch.rowWeightInverse + row).storeBytes(of: inverse, as: SIMD4<Float>.self)
            UnsafeMutableRawPointer(scratch.rowWeightScale + row).storeBytes(of: scale, as: SIMD4<Float>.self)
            row += Self.rowBlock
        }
        for row in 0..<rows {
            let weights = TileMicroKernels.load(scratch.weights + row * Self.keyBlock)
            let quantised = VectorMath.int16(weights * SIMD16(repeating: scratch.rowWeightInverse[row]))
            let destination = UnsafeMutableRawPointer(scratch.integerWeights + row * Self.keyBlock)
            #if AVX512_VNNI
            destination.storeBytes(of: SIMD16<UInt8>(truncatingIfNeeded: quantised), as: SIMD16<UInt8>.self)
            #else
            destination.storeBytes(of: quantised, as: SIMD16<Int16>.self)
            #endif
        }
    }

    #if AVX512_VNNI
    /// `integerAccumulate` for the 4 rows from `row` and value rows `0..<count` from `values`,
    /// prefetching one slice of `prefetch` per 16 dimensions, from slice `firstSlice` on. Value rows
    /// are taken four at a time, interleaved by `QuadMultiplyAdd`, against the 4 rows' unsigned byte
    /// weights of those keys; past `count` the last row is repeated (its weight lanes are 0).
    @inline(__always)
    private func integerAccumulate(
        row: Int,
        values: UnsafeRawPointer,
        step: Int,
        count: Int,
        prefetch: PrefetchSlices,
        firstSlice: Int,
        scratch: borrowing DecodeScratch
    ) {
        let dim = headDim
        let output = IntegerOutputUpdate(row: row, headDim: dim, scratch: scratch)
        let weights = UnsafeRawPointer(scratch.integerWeights + row * Self.keyBlock)
        let rowBytes = Self.keyBlock * MemoryLayout<Int16>.size
        let fullGroups = count / 4
        let remainder = count % 4
        var c = 0
        while c < dim {
            typealias Sums = (SIMD8<Int32>, SIMD8<Int32>, SIMD8<Int32>, SIMD8<Int32>)
            var x0: Sums = (.zero, .zero, .zero, .zero)
            var x1 = x0
            var x2 = x0
            var x3 = x0
            prefetch.prefetch(slice: firstSlice + c / 16)
            prefetch.prefetch(slice: firstSlice + c / 16 + 1)
            /// Adds value rows `a`–`d` times the 4 rows' weights of those keys at `group` (four bytes,
            /// repeated in every 32-bit lane).
            @inline(__always) func add(
                _ a: UnsafeRawPointer,
                _ b: UnsafeRawPointer,
                _ c: UnsafeRawPointer,
                _ d: UnsafeRawPointer,
                _ group: UnsafeRawPointer
            ) {
                let v = QuadMultiplyAdd.interleave(a, b, c, d)
                @inline(__always) func accumulate(_ x: inout Sums, _ i: Int) {
                    let w = SIMD8<Int32>(repeating: group.loadUnaligned(fromByteOffset: i &* rowBytes, as: Int32.self))
                    x = (
                        QuadMultiplyAdd.apply(x.0, w, v.0), QuadMultiplyAdd.apply(x.1, w, v.1),
                        QuadMultiplyAdd.apply(x.2, w, v.2), QuadMultiplyAdd.apply(x.3, w, v.3)
                    )
                }
                accumulate(&x0, 0)
                accumulate(&x1, 1)
                accumulate(&x2, 2)
                accumulate(&x3, 3)
            }
            var first = values + c
            var group = weights
            for _ in 0..<fullGroups {
                add(first, first + step, first + 2 &* step, first + 3 &* step, group)
                first += 4 &* step
                group += 4
            }
            if remainder > 0 {
                let last = first + (remainder - 1) &* step
                add(first, remainder > 1 ? first + step : last, remainder > 2 ? first + 2 &* step : last, last, group)
            }
            // The output keeps the order of the sums: no shuffle per block.
            @inline(__always) func update(_ x: Sums, row i: Int) {
                output.add(x.0, row: i, at: c)
                output.add(x.1, row: i, at: c + 8)
                output.add(x.2, row: i, at: c + 16)
                output.add(x.3, row: i, at: c + 24)
            }
            update(x0, row: 0)
            update(x1, row: 1)
            update(x2, row: 2)
            update(x3, row: 3)
            c += 32
        }
    }

    /// Writes an output row of the integer path: `source` (each 32 dimensions in the order
    /// `integerAccumulate` keeps them) times `inverse`, in element order, to `destination`.
    @inline(__always)
    func storeIntegerOutput(_ source: UnsafePointer<Float>, inverse: Float, to destination: UnsafeMutablePointer<Float>)
    {
        let factor = SIMD8<Float>(repeating: inverse)
        var c = 0
        while c < headDim {
            let ordered = QuadMultiplyAdd.unpermute(
                TileMicroKernels.load8(source + c),
                TileMicroKernels.load8(source + c + 8),
                TileMicroKernels.load8(source + c + 16),
                TileMicroKernels.load8(source + c + 24)
            )
            TileMicroKernels.store8(ordered.0 * factor, destination + c)
            TileMicroKernels.store8(ordered.1 * factor, destination + c + 8)
            TileMicroKernels.store8(ordered.2 * factor, destination + c + 16)
            TileMicroKernels.store8(ordered.3 * factor, destination + c + 24)
            c += 32
        }
    }
    #else
    /// `integerAccumulate` for the 4 rows from `row` and value rows `0..<count` from `values`,
    /// prefetching one slice of `prefetch` per 16 dimensions, from slice `firstSlice` on.
    @inline(__always)
    private func integerAccumulate(
        row: Int,
        values: UnsafeRawPointer,
        step: Int,
        count: Int,
        prefetch: PrefetchSlices,
        firstSlice: Int,
        scratch: borrowing DecodeScratch
    ) {
        let dim = headDim
        let output = IntegerOutputUpdate(row: row, headDim: dim, scratch: scratch)
        let weights = UnsafeRawPointer(scratch.integerWeights + row * Self.keyBlock)
        let rowBytes = Self.keyBlock * MemoryLayout<Int16>.size
        let fullPairs = count / 2
        var c = 0
        while c < dim {
            var x0 = SIMD8<Int32>()
            var x1 = SIMD8<Int32>()
            var x2 = SIMD8<Int32>()
            var x3 = SIMD8<Int32>()
            var y0 = SIMD8<Int32>()
            var y1 = SIMD8<Int32>()
            var y2 = SIMD8<Int32>()
            var y3 = SIMD8<Int32>()
            prefetch.prefetch(slice: firstSlice + c / 16)
            /// Adds value rows `first` and `second` times the 4 rows' weights of the pair at `pair`
            /// (the two `Int16` weights, repeated in every 32-bit lane).
            @inline(__always) func add(_ first: UnsafeRawPointer, _ second: UnsafeRawPointer, _ pair: UnsafeRawPointer)
            {
                @inline(__always) func weightPair(_ i: Int) -> SIMD16<Int16> {
                    let both = pair.loadUnaligned(fromByteOffset: i &* rowBytes, as: Int32.self)
                    return unsafeBitCast(SIMD8<Int32>(repeating: both), to: SIMD16<Int16>.self)
                }
                let v = PairedMultiplyAdd.interleave(first, second)
                let w0 = weightPair(0)
                let w1 = weightPair(1)
                x0 &+= PairedMultiplyAdd.apply(v.low, w0)
                y0 &+= PairedMultiplyAdd.apply(v.high, w0)
                x1 &+= PairedMultiplyAdd.apply(v.low, w1)
                y1 &+= PairedMultiplyAdd.apply(v.high, w1)
                let w2 = weightPair(2)
                let w3 = weightPair(3)
                x2 &+= PairedMultiplyAdd.apply(v.low, w2)
                y2 &+= PairedMultiplyAdd.apply(v.high, w2)
                x3 &+= PairedMultiplyAdd.apply(v.low, w3)
                y3 &+= PairedMultiplyAdd.apply(v.high, w3)
            }
            var first = values + c
            var pair = weights
            for _ in 0..<fullPairs {
                add(first, first + step, pair)
                first += 2 &* step
                pair += 4
            }
            // The last key of an odd block pairs with itself: lane `count` has weight 0.
            if count & 1 == 1 { add(first, first, pair) }
            // The output keeps the order of the sums: no shuffle per block.
            @inline(__always) func update(_ x: SIMD8<Int32>, _ y: SIMD8<Int32>, row i: Int) {
                output.add(x, row: i, at: c)
                output.add(y, row: i, at: c + 8)
            }
            update(x0, y0, row: 0)
            update(x1, y1, row: 1)
            update(x2, y2, row: 2)
            update(x3, y3, row: 3)
            c += 16
        }
    }

    /// Writes an output row of the integer path: `source` (each 16 dimensions in the order
    /// `integerAccumulate` keeps them) times `inverse`, in element order, to `destination`.
    @inline(__always)
    func storeIntegerOutput(_ source: UnsafePointer<Float>, inverse: Float, to destination: UnsafeMutablePointer<Float>)
    {
        let factor = SIMD8<Float>(repeating: inverse)
        var c = 0
        while c < headDim {
            let ordered = PairedMultiplyAdd.unpermute(
                low: TileMicroKernels.load8(source + c),
                high: TileMicroKernels.load8(source + c + 8)
            )
            TileMicroKernels.store8(ordered.first * factor, destination + c)
            TileMicroKernels.store8(ordered.second * factor, destination + c + 8)
            c += 16
        }
    }
    #endif
}

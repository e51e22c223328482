/// The integer arithmetic of `DecodeAttentionKernel` for int8 K/V with a head dimension divisible
/// by 32: scores and the value pass both multiply 16-bit integers in pairs (`vpmaddwd`, 16
/// multiply-adds per instruction against 8 for a `Float` FMA), so int8 storage halves the
/// arithmetic as well as the bytes read.
///
/// - Scores: each query row is quantised once to `Int16` (`quantiseQuery`); keys are widened to
///   `Int16` in registers; dot products are exact in `Int32` and reduced by
///   `PairedMultiplyAdd.laneSums`.
/// - Values: each row's softmax weights for a block (value row scales folded in) are quantised to
///   `Int16` against the block's largest weight (`quantise(weights:row:scratch:)`, called by the
///   softmax), and value rows are taken two keys at a time, interleaved, so one `vpmaddwd` adds
///   both keys' contributions to 8 dimensions. The `Int32` sums are converted once per block and
///   added to the `Float` output.
extension DecodeAttentionKernel {
    /// Largest quantised weight: a block's 16 weights times 127 sum to at most 16·127·32767 < 2^31.
    static let weightLimit: Float = 32767

    /// Quantises query row `row` to `Int16` for the int8 score path, its elements reordered per 32 as
    /// the 16 even then the 16 odd ones (the order `PairedMultiplyAdd.splitBytes` gives the keys),
    /// with one scale per row. The largest magnitude maps to at most 32767, and less when the head
    /// dimension is so large that a full dot product could overflow `Int32`; non-finite elements
    /// quantise to 0.
    func quantiseQuery(row: Int, scratch: borrowing DecodeScratch) {
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

    /// Raw scores `q·k` of every row of every head against keys `0..<count` of the block, into
    /// `scores[row][k]`: `Int16` queries against keys widened to `Int16`, multiplied and added in
    /// pairs into `Int32` and converted (the softmax applies the query and key scales). Keys are
    /// visited pair by pair across the heads, so a page is read in address order; with an odd
    /// `count` lane `count` gets a copy of the last key's score, and later lanes are left as they
    /// were (`adjust` masks both).
    func integerScores(
        heads: Int, rowCount: Int, keys: UnsafeRawPointer, headStep: Int, step: Int, count: Int,
        prefetch: BlockPrefetch, scratch: borrowing DecodeScratch
    ) {
        let dim = headDim
        for pair in 0..<(count + 1) / 2 {
            let first = 2 * pair
            let second = min(first + 1, count - 1)
            for h in 0..<heads {
                prefetch.scorePass.prefetch(slice: pair * heads + h)
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
                        /// Adds query row `q`'s products with both keys to `a` and `b`.
                        @inline(__always) func add(_ q: UnsafeRawPointer, _ a: inout SIMD8<Int32>, _ b: inout SIMD8<Int32>) {
                            let even = q.loadUnaligned(fromByteOffset: 2 * d, as: SIMD16<Int16>.self)
                            let odd = q.loadUnaligned(fromByteOffset: 2 * d + 32, as: SIMD16<Int16>.self)
                            a &+= PairedMultiplyAdd.apply(x.even, even) &+ PairedMultiplyAdd.apply(x.odd, odd)
                            b &+= PairedMultiplyAdd.apply(y.even, even) &+ PairedMultiplyAdd.apply(y.odd, odd)
                        }
                        add(q0, &a0, &b0)
                        add(q1, &a1, &b1)
                        add(q2, &a2, &b2)
                        add(q3, &a3, &b3)
                        d += 32
                    }
                    // [row r: first, second, row r+1: first, second], then rows r+2 and r+3.
                    let upper = VectorMath.float(PairedMultiplyAdd.laneSums(a0, b0, a1, b1))
                    let lower = VectorMath.float(PairedMultiplyAdd.laneSums(a2, b2, a3, b3))
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
    /// every row of every head, with the weights the softmax quantised to `Int16` per row and block.
    /// A head's rows are read two at a time for each 16 dimensions.
    func integerAccumulate(
        heads: Int, rowCount: Int, values: UnsafeRawPointer, headStep: Int, step: Int, count: Int,
        prefetch: BlockPrefetch, scratch: borrowing DecodeScratch
    ) {
        for h in 0..<heads {
            var r = h * rowCount
            while r < (h + 1) * rowCount {
                integerAccumulate(
                    row: r, values: values + h * headStep, step: step, count: count,
                    prefetch: r == h * rowCount ? prefetch.valuePass : .none, firstSlice: h * headDim / 16, scratch: scratch)
                r += Self.rowBlock
            }
        }
    }

    /// Quantises one row's block weights to `Int16` against its largest weight (which maps to
    /// `weightLimit`) for `integerAccumulate`, and records the row's weight scale. A row whose
    /// weights are all 0 gets scale 0; a non-finite weight gives a non-finite scale, so the row's
    /// output becomes non-finite as it would in `Float` arithmetic.
    @inline(__always)
    func quantise(weights: SIMD16<Float>, row: Int, scratch: borrowing DecodeScratch) {
        let largest = VectorMath.horizontalMax(weights)
        let inverse = largest > 0 && largest.isFinite ? Self.weightLimit / largest : 0
        let destination = UnsafeMutableRawPointer(scratch.integerWeights + row * Self.keyBlock)
        destination.storeBytes(of: VectorMath.int16(weights * inverse), as: SIMD16<Int16>.self)
        scratch.rowWeightScale[row] = any(weights .!= weights) ? .nan : largest / Self.weightLimit
    }

    /// `integerAccumulate` for the 4 rows from `row` and value rows `0..<count` from `values`,
    /// prefetching one slice of `prefetch` per 16 dimensions, from slice `firstSlice` on.
    @inline(__always)
    private func integerAccumulate(
        row: Int, values: UnsafeRawPointer, step: Int, count: Int, prefetch: PrefetchSlices, firstSlice: Int,
        scratch: borrowing DecodeScratch
    ) {
        let dim = headDim
        let o0 = scratch.output + row * dim, o1 = o0 + dim, o2 = o1 + dim, o3 = o2 + dim
        let alpha = scratch.rowAlpha + row, scale = scratch.rowWeightScale + row
        let a0 = SIMD8(repeating: alpha[0]), a1 = SIMD8(repeating: alpha[1])
        let a2 = SIMD8(repeating: alpha[2]), a3 = SIMD8(repeating: alpha[3])
        let s0 = SIMD8(repeating: scale[0]), s1 = SIMD8(repeating: scale[1])
        let s2 = SIMD8(repeating: scale[2]), s3 = SIMD8(repeating: scale[3])
        let weights = UnsafeRawPointer(scratch.integerWeights + row * Self.keyBlock)
        let rowBytes = Self.keyBlock * MemoryLayout<Int16>.size
        let fullPairs = count / 2
        var c = 0
        while c < dim {
            var x0 = SIMD8<Int32>(), x1 = SIMD8<Int32>(), x2 = SIMD8<Int32>(), x3 = SIMD8<Int32>()
            var y0 = SIMD8<Int32>(), y1 = SIMD8<Int32>(), y2 = SIMD8<Int32>(), y3 = SIMD8<Int32>()
            prefetch.prefetch(slice: firstSlice + c / 16)
            /// Adds value rows `first` and `second` times the 4 rows' weights of the pair at `pair`
            /// (the two `Int16` weights, repeated in every 32-bit lane).
            @inline(__always) func add(_ first: UnsafeRawPointer, _ second: UnsafeRawPointer, _ pair: UnsafeRawPointer) {
                @inline(__always) func weightPair(_ i: Int) -> SIMD16<Int16> {
                    let both = pair.loadUnaligned(fromByteOffset: i &* rowBytes, as: Int32.self)
                    return unsafeBitCast(SIMD8<Int32>(repeating: both), to: SIMD16<Int16>.self)
                }
                let v = PairedMultiplyAdd.interleave(first, second)
                let w0 = weightPair(0), w1 = weightPair(1)
                x0 &+= PairedMultiplyAdd.apply(v.low, w0); y0 &+= PairedMultiplyAdd.apply(v.high, w0)
                x1 &+= PairedMultiplyAdd.apply(v.low, w1); y1 &+= PairedMultiplyAdd.apply(v.high, w1)
                let w2 = weightPair(2), w3 = weightPair(3)
                x2 &+= PairedMultiplyAdd.apply(v.low, w2); y2 &+= PairedMultiplyAdd.apply(v.high, w2)
                x3 &+= PairedMultiplyAdd.apply(v.low, w3); y3 &+= PairedMultiplyAdd.apply(v.high, w3)
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
            @inline(__always) func update(
                _ o: UnsafeMutablePointer<Float>, _ x: SIMD8<Int32>, _ y: SIMD8<Int32>, _ a: SIMD8<Float>, _ s: SIMD8<Float>
            ) {
                let sums = PairedMultiplyAdd.unpermute(low: VectorMath.float(x), high: VectorMath.float(y))
                TileMicroKernels.store8(VectorMath.fma(sums.first, s, TileMicroKernels.load8(o) * a), o)
                TileMicroKernels.store8(VectorMath.fma(sums.second, s, TileMicroKernels.load8(o + 8) * a), o + 8)
            }
            update(o0 + c, x0, y0, a0, s0)
            update(o1 + c, x1, y1, a1, s1)
            update(o2 + c, x2, y2, a2, s2)
            update(o3 + c, x3, y3, a3, s3)
            c += 16
        }
    }
}

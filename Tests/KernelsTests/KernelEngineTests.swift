import Foundation
import TestSupport
import Testing

@testable import Kernels

/// Internals of the attention engine: the vector exp, the work splitter, tile classification, and
/// small cases of every entry point against the float64 reference.
@Suite struct KernelEngineTests {
    /// Output tolerance of the integer int8 path against a float reference on the same stored K/V,
    /// for values of magnitude at most 1, on random data: its value weights are quantised per row
    /// and block to `DecodeAttentionKernel.weightLimit` levels (255 with AVX-512 VNNI, 32767
    /// without), which puts the typical output error near 1/weightLimit; twice that, and never
    /// below the float paths' 2e-4. (The worst case is `integerWeightsBoundTheTailError`'s.)
    static let integerPathTolerance = max(2e-4, 2 / DecodeAttentionKernel.weightLimit)

    /// Largest output deviation at most `tolerance`; log-sum-exp entries within `lseTolerance`
    /// (relative above 1), and `-infinity` exactly where expected.
    static func expectClose(
        _ actual: AttentionResult,
        _ expected: AttentionResult,
        tolerance: Float = 2e-4,
        lseTolerance: Float = 2e-4
    ) {
        #expect(actual.output.count == expected.output.count)
        #expect(actual.logSumExp.count == expected.logSumExp.count)
        let outputError = zip(actual.output, expected.output).map { abs($0 - $1) }.max() ?? 0
        #expect(outputError <= tolerance)
        for (a, e) in zip(actual.logSumExp, expected.logSumExp) {
            if e == -.infinity {
                #expect(a == -.infinity)
            } else {
                #expect(abs(a - e) <= lseTolerance * max(1, abs(e)))
            }
        }
    }

    /// The largest relative error of `function` against `exact` over `range`, sampled at 8 lanes
    /// 0.0137 apart from every 0.219.
    private func worstRelativeError(
        of function: (SIMD8<Float>) -> SIMD8<Float>,
        exact: (Double) -> Double,
        over range: ClosedRange<Float>
    ) -> Double {
        var worst: Double = 0
        var x = range.lowerBound
        while x <= range.upperBound {
            let lanes = SIMD8<Float>((0..<8).map { x + Float($0) * 0.0137 })
            let y = function(lanes)
            for lane in 0..<8 where range.contains(lanes[lane]) {
                let reference = exact(Double(lanes[lane]))
                worst = max(worst, abs(Double(y[lane]) - reference) / reference)
            }
            x += 0.219
        }
        return worst
    }

    @Test func vectorExpIsAccurateOverItsRange() {
        #expect(worstRelativeError(of: VectorMath.exp, exact: Foundation.exp, over: -87...88) < 3e-7)
        let edges = VectorMath.exp(SIMD16<Float>(repeating: -.infinity))
        #expect(edges[0] == 0)
        #expect(VectorMath.exp(SIMD16<Float>(repeating: 0))[3] == 1)
    }

    @Test func vectorExp2IsAccurateOverItsRange() {
        #expect(worstRelativeError(of: VectorMath.exp2, exact: Foundation.exp2, over: -126...127) < 3e-7)
        let edges = VectorMath.exp2(SIMD8<Float>(-.infinity, -200, 0, 1, -3, 127, 300, .nan))
        #expect(edges[0] == 0 && edges[1] == 0)
        #expect(edges[2] == 1 && edges[3] == 2 && edges[4] == 0.125)
        #expect(edges[5] == 0x1p127 && edges[6] == 0x1p127)
        #expect(edges[7].isNaN)
        // e^(x - m) through the shift, as the softmax computes it (the roundings of x·log2(e) and of
        // the shift add about 1e-7 of relative error per unit of |x| + |m|); a shift of -infinity
        // gives zeros.
        let scores = SIMD8<Float>(-30, -7.5, -1, -0.25, 0, 3, 11.5, 12)
        let weights = VectorMath.exp(scores, shift: SIMD8(repeating: VectorMath.exponentShift(maximum: 12)))
        for lane in 0..<8 {
            let exact = Foundation.exp(Double(scores[lane]) - 12)
            let magnitude = abs(Double(scores[lane])) + 12
            #expect(abs(Double(weights[lane]) - exact) <= (3e-7 + 1e-7 * magnitude) * exact)
        }
        #expect(VectorMath.exp(scores, shift: SIMD8(repeating: -.infinity)) == SIMD8())
    }

    @Test func vectorTanhIsAccurate() {
        var worst: Double = 0
        for step in -400...400 {
            let x = Float(step) * 0.025
            let y = VectorMath.tanh(SIMD16<Float>(repeating: x))[0]
            worst = max(worst, abs(Double(y) - Foundation.tanh(Double(x))))
        }
        #expect(worst < 1e-6)
        #expect(VectorMath.tanh(SIMD16<Float>(repeating: 200))[0] == 1)
        #expect(VectorMath.tanh(SIMD16<Float>(repeating: -200))[0] == -1)
    }

    /// Rounding ties to even, saturation, and 0 for every lane `vcvtps2dq` cannot convert.
    @Test func int16ConversionRoundsSaturatesAndZeroesInvalidLanes() {
        let lanes = SIMD16<Float>(
            0.5,
            1.5,
            -2.5,
            2.4999,
            40000,
            -40000,
            .nan,
            .infinity,
            -.infinity,
            3e9,
            -3e9,
            32767,
            -32768,
            7,
            -0.0,
            100.5
        )
        let expected = SIMD16<Int16>(0, 2, -2, 2, 32767, -32768, 0, 0, 0, 0, 0, 32767, -32768, 7, 0, 100)
        #expect(VectorMath.int16(lanes) == expected)
    }

    /// Both transposed lane-sum trees give each vector's sum, in argument order (integers wrapping).
    @Test func laneSumsAddEachVector() {
        var generator = SplitMix64(seed: 29)
        for _ in 0..<20 {
            let floats = (0..<4).map { _ in SIMD8<Float>(generator.floats(8, in: -1..<1).map { ($0 * 64).rounded() }) }
            let sums = VectorMath.laneSums(floats[0], floats[1], floats[2], floats[3])
            for i in 0..<4 { #expect(sums[i] == floats[i].sum()) }
            let ints = (0..<4).map { _ in SIMD8<Int32>((0..<8).map { _ in Int32(generator.float(in: -1..<1) * 2e9) }) }
            let intSums = VectorMath.laneSums(ints[0], ints[1], ints[2], ints[3])
            for i in 0..<4 { #expect(intSums[i] == ints[i].wrappedSum()) }
        }
        let wrapping = SIMD8<Int32>(repeating: .max)
        #expect(VectorMath.laneSums(wrapping, wrapping, wrapping, wrapping)[2] == wrapping.wrappedSum())
    }

    @Test func workSplitterClaimsEveryItemOnce() {
        final class Counts: @unchecked Sendable {
            var hits = [Int](repeating: 0, count: 1000)
            let lock = NSLock()
        }
        for threads in [1, 2, 7] {
            let counts = Counts()
            ParallelWork.run(itemCount: 1000, threads: threads) { claim in
                while let item = claim() {
                    counts.lock.lock()
                    counts.hits[item] += 1
                    counts.lock.unlock()
                }
            }
            #expect(counts.hits.allSatisfy { $0 == 1 })
        }
    }

    @Test func tileClassificationSkipsHiddenAndMasksBoundaries() {
        let causal = KeyVisibility(causal: true, left: -1, right: -1, blockSparse: nil)
        #expect(causal.classify(keyStart: 128, count: 64, firstPosition: 0, lastPosition: 63, keyCount: 512) == .hidden)
        #expect(causal.classify(keyStart: 0, count: 64, firstPosition: 64, lastPosition: 127, keyCount: 512) == .full)
        #expect(
            causal.classify(keyStart: 64, count: 64, firstPosition: 64, lastPosition: 127, keyCount: 512) == .partial
        )
        let window = KeyVisibility(causal: true, left: 10, right: -1, blockSparse: nil)
        #expect(
            window.classify(keyStart: 0, count: 64, firstPosition: 200, lastPosition: 215, keyCount: 512) == .hidden
        )
        // The last tile of a sequence that ends inside it is masked.
        #expect(
            causal.classify(keyStart: 64, count: 64, firstPosition: 200, lastPosition: 215, keyCount: 100) == .partial
        )
        let sparse = KeyVisibility(
            causal: false,
            left: -1,
            right: -1,
            blockSparse: BlockSparseMask(queryTiles: 2, keyTiles: 2, allowed: [true, false, true, true])
        )
        #expect(sparse.classify(keyStart: 64, count: 64, firstPosition: 0, lastPosition: 63, keyCount: 128) == .hidden)
        #expect(
            sparse.classify(keyStart: 64, count: 64, firstPosition: 60, lastPosition: 70, keyCount: 128) == .partial
        )
        #expect(sparse.classify(keyStart: 0, count: 64, firstPosition: 60, lastPosition: 70, keyCount: 128) == .full)
    }

    /// 37 query tokens run on the tiled kernel, 3 (12 rows per KV head) on the streaming one.
    @Test(arguments: KVStorageType.allCases, [37, 3])
    func denseMatchesReference(storage: KVStorageType, queryLength: Int) throws {
        var generator = SplitMix64(seed: 7)
        let shape = DenseAttentionShape(
            batch: 2,
            queryHeads: 8,
            kvHeads: 2,
            queryLength: queryLength,
            keyLength: 150,
            headDim: 40
        )
        let q = generator.floats(2 * 8 * queryLength * 40, in: -1..<1)
        let k = try KVTensor(generator.floats(2 * 2 * 150 * 40, in: -1..<1), rowLength: 40, storage: storage)
        let v = try KVTensor(generator.floats(2 * 2 * 150 * 40, in: -1..<1), rowLength: 40, storage: storage)
        let slopes: [Float] = [0.5, 0.25, 0.125, 0.0625, 0.03, 0.02, 0.01, 0.005]
        let optionSets = [
            AttentionOptions(),
            AttentionOptions(causal: true, threads: 2),
            AttentionOptions(scale: 0.9, causal: true, window: .init(left: 20, right: -1), softcap: 2.5, threads: 3),
            AttentionOptions(window: .init(left: 5, right: 70), alibiSlopes: slopes),
            AttentionOptions(
                causal: true,
                blockSparse: BlockSparseMask(
                    queryTiles: 3,
                    keyTiles: 3,
                    allowed: [true, false, false, false, true, false, true, false, true]
                )
            ),
        ]
        for options in optionSets {
            let result = try FlashAttention.dense(q: q, k: k, v: v, shape: shape, options: options)
            Self.expectClose(result, ReferenceAttention.dense(q: q, k: k, v: v, shape: shape, options: options).rounded)
        }
    }

    /// A window narrower than the sequence: each worker keeps only the few key tiles a block of
    /// queries can see, reusing their slots as the blocks move along the sequence.
    @Test func slidingWindowMatchesReferenceOnAnyThreadCount() throws {
        var generator = SplitMix64(seed: 13)
        let shape = DenseAttentionShape(
            batch: 1,
            queryHeads: 2,
            kvHeads: 1,
            queryLength: 300,
            keyLength: 300,
            headDim: 32
        )
        let q = generator.floats(2 * 300 * 32, in: -1..<1)
        let k = try KVTensor(generator.floats(300 * 32, in: -1..<1), rowLength: 32, storage: .f16)
        let v = try KVTensor(generator.floats(300 * 32, in: -1..<1), rowLength: 32, storage: .f16)
        let one = AttentionOptions(causal: true, window: .init(left: 30, right: 0), threads: 1)
        let many = AttentionOptions(causal: true, window: .init(left: 30, right: 0), threads: 3)
        let result = try FlashAttention.dense(q: q, k: k, v: v, shape: shape, options: one)
        Self.expectClose(result, ReferenceAttention.dense(q: q, k: k, v: v, shape: shape, options: one).rounded)
        #expect(try FlashAttention.dense(q: q, k: k, v: v, shape: shape, options: many) == result)
    }

    /// Few query rows over int8 keys with a head dimension divisible by 32 take the integer path
    /// (queries quantised to Int16, value weights to `weightLimit` levels); under every option it
    /// must stay within `integerPathTolerance` of the float result on the same stored K/V.
    @Test func int8DecodeMatchesReference() throws {
        var generator = SplitMix64(seed: 17)
        let shape = DenseAttentionShape(batch: 2, queryHeads: 8, kvHeads: 2, queryLength: 2, keyLength: 90, headDim: 64)
        let q = generator.floats(2 * 8 * 2 * 64, in: -1..<1)
        let k = try KVTensor(generator.floats(2 * 2 * 90 * 64, in: -1..<1), rowLength: 64, storage: .int8)
        let v = try KVTensor(generator.floats(2 * 2 * 90 * 64, in: -1..<1), rowLength: 64, storage: .int8)
        let slopes: [Float] = [0.5, 0.25, 0.125, 0.0625, 0.03, 0.02, 0.01, 0.005]
        let optionSets = [
            AttentionOptions(),
            AttentionOptions(scale: 0.7, causal: true, window: .init(left: 40, right: -1), softcap: 2, threads: 2),
            AttentionOptions(alibiSlopes: slopes),
        ]
        for options in optionSets {
            let result = try FlashAttention.dense(q: q, k: k, v: v, shape: shape, options: options)
            Self.expectClose(
                result,
                ReferenceAttention.dense(q: q, k: k, v: v, shape: shape, options: options).rounded,
                tolerance: Self.integerPathTolerance
            )
        }
    }

    /// The integer path's worst case: one key of a 16-key block holds almost all of the row's mass
    /// and the other 15 sit at a fixed fraction of it, with values -1 for the large key and 1 for
    /// the rest (one value scale for all, so the weights keep their ratios). Quantised weights move each
    /// tail weight by at most half a level, which bounds the error by
    /// `(keyBlock - 1) / (2 · weightLimit)`. A tail at 1/545 of the largest is under half a level
    /// of 255 (rounded away entirely with 8-bit weights, 2.7% of the output); one at 1/283 is 0.9
    /// of a level (kept by rounding; truncating would lose 5%, over the bound).
    @Test(arguments: [545.0, 283.0])
    func integerWeightsBoundTheTailError(tailRatio: Double) throws {
        let (keys, d) = (DecodeAttentionKernel.keyBlock, 32)
        let shape = DenseAttentionShape(
            batch: 1,
            queryHeads: 1,
            kvHeads: 1,
            queryLength: 1,
            keyLength: keys,
            headDim: d
        )
        // Scores 10 and 10 - ln(tailRatio), exact in int8 (one non-zero element per key row).
        var kf = [Float](repeating: 0, count: keys * d)
        var vf = [Float](repeating: 1, count: keys * d)
        kf[0] = 10
        for key in 1..<keys { kf[key * d] = Float(10 - log(tailRatio)) }
        for e in 0..<d { vf[e] = -1 }
        var q = [Float](repeating: 0, count: d)
        q[0] = 1
        let k = try KVTensor(kf, rowLength: d, storage: .int8)
        let v = try KVTensor(vf, rowLength: d, storage: .int8)
        let options = AttentionOptions(scale: 1)
        let result = try FlashAttention.dense(q: q, k: k, v: v, shape: shape, options: options)
        let expected = ReferenceAttention.dense(q: q, k: k, v: v, shape: shape, options: options).rounded
        let tail = Double(keys - 1) / tailRatio
        #expect(abs(Double(expected.output[0]) - (tail - 1) / (1 + tail)) < 1e-5)
        let bound = Float(keys - 1) / (2 * DecodeAttentionKernel.weightLimit)
        Self.expectClose(result, expected, tolerance: bound + 1e-5)
    }

    @Test func oneAndManyThreadsAgreeBitForBit() throws {
        var generator = SplitMix64(seed: 11)
        let shape = DenseAttentionShape(
            batch: 1,
            queryHeads: 8,
            kvHeads: 2,
            queryLength: 200,
            keyLength: 300,
            headDim: 64
        )
        let q = generator.floats(8 * 200 * 64, in: -1..<1)
        let k = try KVTensor(generator.floats(2 * 300 * 64, in: -1..<1), rowLength: 64, storage: .f16)
        let v = try KVTensor(generator.floats(2 * 300 * 64, in: -1..<1), rowLength: 64, storage: .f16)
        let one = try FlashAttention.dense(q: q, k: k, v: v, shape: shape, options: .init(causal: true, threads: 1))
        let many = try FlashAttention.dense(q: q, k: k, v: v, shape: shape, options: .init(causal: true, threads: 5))
        #expect(one == many)
    }

    @Test func varlenSequencesAreIndependentDenseProblems() throws {
        var generator = SplitMix64(seed: 3)
        let queryOffsets = [0, 5, 5, 70]
        let keyOffsets = [0, 9, 20, 150]
        let (hq, hkv, d) = (4, 1, 24)
        let q = generator.floats(70 * hq * d, in: -1..<1)
        let kf = generator.floats(150 * hkv * d, in: -1..<1)
        let vf = generator.floats(150 * hkv * d, in: -1..<1)
        let options = AttentionOptions(causal: true, window: .init(left: 30, right: -1))
        let result = try FlashAttention.varlen(
            q: q,
            k: try KVTensor(kf, rowLength: d, storage: .bf16),
            v: try KVTensor(vf, rowLength: d, storage: .bf16),
            queryOffsets: queryOffsets,
            keyOffsets: keyOffsets,
            queryHeads: hq,
            kvHeads: hkv,
            headDim: d,
            options: options
        )
        for s in [0, 2] {
            let (q0, q1, k0, k1) = (queryOffsets[s], queryOffsets[s + 1], keyOffsets[s], keyOffsets[s + 1])
            // Re-lay this sequence out as a dense [1, H, N, D] problem.
            var dq = [Float]()
            var dout = [Float]()
            var dlse = [Float]()
            for h in 0..<hq {
                for t in q0..<q1 {
                    dq += q[(t * hq + h) * d..<(t * hq + h + 1) * d]
                    dout += result.output[(t * hq + h) * d..<(t * hq + h + 1) * d]
                    dlse.append(result.logSumExp[t * hq + h])
                }
            }
            let shape = DenseAttentionShape(
                batch: 1,
                queryHeads: hq,
                kvHeads: hkv,
                queryLength: q1 - q0,
                keyLength: k1 - k0,
                headDim: d
            )
            let kd = try KVTensor(Array(kf[k0 * d..<k1 * d]), rowLength: d, storage: .bf16)
            let vd = try KVTensor(Array(vf[k0 * d..<k1 * d]), rowLength: d, storage: .bf16)
            Self.expectClose(
                AttentionResult(output: dout, logSumExp: dlse),
                ReferenceAttention.dense(q: dq, k: kd, v: vd, shape: shape, options: options).rounded
            )
        }
        // The empty middle sequence has no rows; a sequence with queries and no keys gives zeros and -inf.
        let empty = try FlashAttention.varlen(
            q: [Float](repeating: 1, count: 2 * d),
            k: try KVTensor([], rowLength: d, storage: .f32),
            v: try KVTensor([], rowLength: d, storage: .f32),
            queryOffsets: [0, 2],
            keyOffsets: [0, 0],
            queryHeads: 1,
            kvHeads: 1,
            headDim: d
        )
        #expect(empty.output.allSatisfy { $0 == 0 })
        #expect(empty.logSumExp.allSatisfy { $0 == -.infinity })
    }

    @Test(arguments: [KVStorageType.f16, .int8])
    func pagedMatchesGatheredDense(storage: KVStorageType) throws {
        var generator = SplitMix64(seed: 5)
        let (hq, hkv, d, pageSize, nq) = (8, 2, 32, 16, 3)
        var pool = try KVPagePool(pageCount: 40, pageSize: pageSize, kvHeads: hkv, headDim: d, storage: storage)
        let kvLengths = [100, 37]
        let tables = [Array((0..<7).map { 39 - 3 * $0 }), [2, 4, 6]]
        var kf = [[Float]](repeating: [], count: 2)
        var vf = [[Float]](repeating: [], count: 2)
        for b in 0..<2 {
            for t in 0..<kvLengths[b] {
                let k = generator.floats(hkv * d, in: -1..<1)
                let v = generator.floats(hkv * d, in: -1..<1)
                try pool.write(page: tables[b][t / pageSize], slot: t % pageSize, keys: k, values: v)
                kf[b] += k
                vf[b] += v
            }
        }
        let q = generator.floats(2 * nq * hq * d, in: -1..<1)
        let options = AttentionOptions(causal: true, softcap: 3, threads: 2)
        let result = try PagedAttention.run(
            q: q,
            queryLength: nq,
            queryHeads: hq,
            pool: pool,
            blockTables: tables,
            kvLengths: kvLengths,
            options: options
        )
        for b in 0..<2 {
            let n = kvLengths[b]
            // [N, Hkv, D] -> [Hkv, N, D]
            func headMajor(_ x: [Float]) -> [Float] {
                var out = [Float]()
                for h in 0..<hkv { for t in 0..<n { out += x[(t * hkv + h) * d..<(t * hkv + h + 1) * d] } }
                return out
            }
            var dq = [Float]()
            var dout = [Float]()
            var dlse = [Float]()
            for h in 0..<hq {
                for i in 0..<nq {
                    let row = (b * nq + i) * hq + h
                    dq += q[row * d..<(row + 1) * d]
                    dout += result.output[row * d..<(row + 1) * d]
                    dlse.append(result.logSumExp[row])
                }
            }
            let shape = DenseAttentionShape(
                batch: 1,
                queryHeads: hq,
                kvHeads: hkv,
                queryLength: nq,
                keyLength: n,
                headDim: d
            )
            let expected = ReferenceAttention.dense(
                q: dq,
                k: try KVTensor(headMajor(kf[b]), rowLength: d, storage: storage),
                v: try KVTensor(headMajor(vf[b]), rowLength: d, storage: storage),
                shape: shape,
                options: options
            ).rounded
            Self.expectClose(
                AttentionResult(output: dout, logSumExp: dlse),
                expected,
                tolerance: storage == .int8 ? Self.integerPathTolerance : 2e-4
            )
        }
    }

    @Test func mergeOfShardsEqualsWhole() throws {
        var generator = SplitMix64(seed: 9)
        let d = 16
        let q = generator.floats(3 * d, in: -1..<1)
        let kf = generator.floats(90 * d, in: -1..<1)
        let vf = generator.floats(90 * d, in: -1..<1)
        func run(_ range: Range<Int>) throws -> AttentionResult {
            try FlashAttention.dense(
                q: q,
                k: try KVTensor(Array(kf[range.lowerBound * d..<range.upperBound * d]), rowLength: d, storage: .f32),
                v: try KVTensor(Array(vf[range.lowerBound * d..<range.upperBound * d]), rowLength: d, storage: .f32),
                shape: .init(batch: 1, queryHeads: 1, kvHeads: 1, queryLength: 3, keyLength: range.count, headDim: d)
            )
        }
        let whole = try run(0..<90)
        let noKeys = AttentionResult(
            output: [Float](repeating: 0, count: 3 * d),
            logSumExp: [Float](repeating: -.infinity, count: 3)
        )
        let merged = try AttentionMerge.merge([try run(0..<20), noKeys, try run(20..<90)], headDim: d)
        Self.expectClose(merged, whole, tolerance: 1e-5)
        let nothing = try AttentionMerge.merge([noKeys, noKeys], headDim: d)
        #expect(nothing == noKeys)
        #expect(throws: KernelError.self) { try AttentionMerge.merge([whole, noKeys], headDim: d + 1) }
    }

    @Test func badArgumentsThrowInsteadOfTrapping() throws {
        let k = try KVTensor([Float](repeating: 0, count: 8 * 4), rowLength: 4, storage: .f16)
        let shape = DenseAttentionShape(batch: 1, queryHeads: 1, kvHeads: 1, queryLength: 8, keyLength: 8, headDim: 4)
        let q = [Float](repeating: 0, count: 32)
        #expect(throws: KernelError.invalidThreadCount(0)) {
            try FlashAttention.dense(q: q, k: k, v: k, shape: shape, options: .init(threads: 0))
        }
        var huge = shape
        huge.queryLength = Int.max / 2
        #expect(throws: KernelError.self) { try FlashAttention.dense(q: q, k: k, v: k, shape: huge) }
        #expect(throws: KernelError.self) {
            try FlashAttention.dense(q: q, k: k, v: k, shape: shape, options: .init(window: .init(left: -2, right: 0)))
        }
        #expect(throws: KernelError.self) {
            try FlashAttention.dense(
                q: q,
                k: k,
                v: k,
                shape: shape,
                options: .init(blockSparse: BlockSparseMask(queryTiles: 1, keyTiles: 1, allowed: []))
            )
        }
        #expect(throws: KernelError.self) {
            try FlashAttention.varlen(
                q: q,
                k: k,
                v: k,
                queryOffsets: [0, 9, 8],
                keyOffsets: [0, 4, 8],
                queryHeads: 1,
                kvHeads: 1,
                headDim: 4
            )
        }
        let pool = try KVPagePool(pageCount: 2, pageSize: 4, kvHeads: 1, headDim: 4, storage: .f16)
        #expect(throws: KernelError.pageOutOfRange(sequence: 0, page: 2, poolPages: 2)) {
            try PagedAttention.run(
                q: [Float](repeating: 0, count: 4),
                queryLength: 1,
                queryHeads: 1,
                pool: pool,
                blockTables: [[0, 2]],
                kvLengths: [6]
            )
        }
    }
}

import Kernels
import TestSupport
import Testing

/// The dense kernel against the float64 reference, over options, storage types and ragged sizes.
@Suite struct DenseAttentionTests {
    /// Every combination of causal × window × softcap × ALiBi × block-sparse × GQA ratio 1/2/4/8,
    /// cycling through the storage types, on small ragged sizes.
    static let optionCases: [AttentionCase] = {
        var cases: [AttentionCase] = []
        let storages = KVStorageType.allCases
        for causal in [false, true] {
            for window in [AttentionWindow.unbounded, AttentionWindow(left: 20, right: 5)] {
                for softcap: Float? in [nil, 1.5] {
                    for alibi in [false, true] {
                        for blockSparse in [false, true] {
                            for ratio in [1, 2, 4, 8] {
                                cases.append(
                                    AttentionCase(
                                        queryHeads: ratio,
                                        kvHeads: 1,
                                        queryLength: 33,
                                        keyLength: 97,
                                        headDim: 32,
                                        causal: causal,
                                        window: window,
                                        softcap: softcap,
                                        alibi: alibi,
                                        blockSparse: blockSparse,
                                        storage: storages[cases.count % storages.count]
                                    )
                                )
                            }
                        }
                    }
                }
            }
        }
        return cases
    }()

    @Test("option matrix", arguments: optionCases)
    func optionMatrix(_ testCase: AttentionCase) throws {
        var generator = SplitMix64.fresh()
        let (result, reference) = try testCase.runDense(using: &generator)
        let deviation = AttentionDeviation(result, reference: reference)
        #expect(deviation.isWithin(testCase.storage.outputTolerance), "seed \(generator.seed): \(deviation)")
    }

    /// Every storage type on head dims and lengths that are multiples of no tile, including Nq = 1,
    /// Nq < Nk and Nq > Nk (bottom-right alignment), several batches and kv heads.
    static let raggedCases: [AttentionCase] = {
        let shapes: [(nq: Int, nk: Int, d: Int)] = [
            (1, 1, 32), (1, 257, 64), (7, 33, 80), (33, 7, 32), (97, 130, 64), (130, 97, 80), (257, 257, 32),
            (1, 130, 128), (33, 33, 128),
        ]
        var cases: [AttentionCase] = []
        for storage in KVStorageType.allCases {
            for (index, shape) in shapes.enumerated() {
                cases.append(
                    AttentionCase(
                        batch: index % 2 + 1,
                        queryHeads: 4,
                        kvHeads: index % 3 == 0 ? 4 : 2,
                        queryLength: shape.nq,
                        keyLength: shape.nk,
                        headDim: shape.d,
                        causal: index % 2 == 0,
                        storage: storage
                    )
                )
            }
        }
        return cases
    }()

    @Test("ragged sizes", arguments: raggedCases)
    func raggedSizes(_ testCase: AttentionCase) throws {
        var generator = SplitMix64.fresh()
        let (result, reference) = try testCase.runDense(using: &generator)
        let deviation = AttentionDeviation(result, reference: reference)
        #expect(deviation.isWithin(testCase.storage.outputTolerance), "seed \(generator.seed): \(deviation)")
    }

    /// Causal with Nq > Nk: the first Nq - Nk queries sit before every key and see nothing.
    @Test func causalQueriesBeforeEveryKeySeeNothing() throws {
        var generator = SplitMix64.fresh()
        let testCase = AttentionCase(queryHeads: 2, queryLength: 40, keyLength: 9, headDim: 32, causal: true)
        let (result, reference) = try testCase.runDense(using: &generator)
        #expect(AttentionDeviation(result, reference: reference).isWithin(2e-5), "seed \(generator.seed)")
        for head in 0..<2 {
            for row in 0..<31 {
                #expect(result.logSumExp[head * 40 + row] == -.infinity, "seed \(generator.seed)")
            }
            #expect(result.logSumExp[head * 40 + 31].isFinite, "seed \(generator.seed)")
        }
    }

    /// Window (0, 0) with causal keeps only the diagonal; a block-sparse mask that removes every
    /// tile of query tile 1 leaves rows 64..<128 with nothing: zeros and lse = -inf.
    @Test func rowsMaskedByWindowAndBlockSparseAreZero() throws {
        var generator = SplitMix64.fresh()
        let n = 150
        var allowed = [Bool](repeating: true, count: 9)
        for c in 0..<3 { allowed[3 + c] = false }
        let options = AttentionOptions(
            causal: true,
            window: AttentionWindow(left: 0, right: 0),
            blockSparse: BlockSparseMask(queryTiles: 3, keyTiles: 3, allowed: allowed)
        )
        let testCase = AttentionCase(
            queryHeads: 2,
            kvHeads: 1,
            queryLength: n,
            keyLength: n,
            headDim: 64,
            storage: .f16
        )
        let (result, reference) = try testCase.runDense(using: &generator, options: options)
        let deviation = AttentionDeviation(result, reference: reference)
        #expect(deviation.isWithin(KVStorageType.f16.outputTolerance), "seed \(generator.seed): \(deviation)")
        for head in 0..<2 {
            for row in 0..<n {
                let rowIndex = head * n + row
                let masked = (64..<128).contains(row)
                #expect((result.logSumExp[rowIndex] == -.infinity) == masked, "row \(row), seed \(generator.seed)")
                if masked {
                    #expect(result.output[rowIndex * 64..<(rowIndex + 1) * 64].allSatisfy { $0 == 0 })
                }
            }
        }
    }

    /// Nq > Nk with a window (1, 1): queries whose window ends before key 0 see nothing.
    @Test func windowBeyondTheKeysSeesNothing() throws {
        var generator = SplitMix64.fresh()
        let options = AttentionOptions(window: AttentionWindow(left: 1, right: 1))
        let testCase = AttentionCase(queryLength: 10, keyLength: 4, headDim: 32)
        let (result, reference) = try testCase.runDense(using: &generator, options: options)
        #expect(AttentionDeviation(result, reference: reference).isWithin(2e-5), "seed \(generator.seed)")
        // Query i sits at position i - 6 and sees keys i - 7 ... i - 5.
        for row in 0..<10 {
            #expect((result.logSumExp[row] == -.infinity) == (row < 5), "row \(row), seed \(generator.seed)")
        }
        #expect(result.output[0..<5 * 32].allSatisfy { $0 == 0 })
    }

    /// An explicit scale is used as given.
    @Test func explicitScale() throws {
        var generator = SplitMix64.fresh()
        let testCase = AttentionCase(queryHeads: 2, queryLength: 17, keyLength: 29, headDim: 80)
        let (result, reference) = try testCase.runDense(using: &generator, options: AttentionOptions(scale: 2.5))
        let deviation = AttentionDeviation(result, reference: reference)
        #expect(deviation.isWithin(2e-5), "seed \(generator.seed): \(deviation)")
    }
}

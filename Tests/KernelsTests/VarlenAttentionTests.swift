import Kernels
import TestSupport
import Testing

/// Packed varlen attention against the float64 reference: several sequences of different lengths,
/// one with no query tokens, each its own problem.
@Suite struct VarlenAttentionTests {
    struct VarlenCase: Sendable, CustomStringConvertible {
        var label: String
        var queryHeads: Int
        var kvHeads: Int
        var headDim: Int
        var options: AttentionOptions
        var storage: KVStorageType
        var description: String { "\(label) Hq\(queryHeads) Hkv\(kvHeads) D\(headDim) \(storage)" }
    }

    /// Query and key lengths per sequence: a zero-length query sequence, Nq = 1, Nq < Nk, Nq = Nk,
    /// and one longer than a 64-tile.
    static let sequences: [(queries: Int, keys: Int)] = [(5, 9), (0, 7), (33, 33), (1, 40), (17, 20), (70, 75)]

    static let cases: [VarlenCase] = {
        let optionSets: [(String, AttentionOptions)] = [
            ("plain", AttentionOptions()),
            ("causal", AttentionOptions(causal: true)),
            (
                "causal window softcap",
                AttentionOptions(
                    scale: 0.6,
                    causal: true,
                    window: AttentionWindow(left: 9, right: 0),
                    softcap: 2
                )
            ),
            ("window both sides", AttentionOptions(window: AttentionWindow(left: 3, right: 4))),
        ]
        var cases: [VarlenCase] = []
        for storage in KVStorageType.allCases {
            for (index, (label, options)) in optionSets.enumerated() {
                let ratio = [1, 2, 4, 8][index]
                cases.append(
                    VarlenCase(
                        label: label,
                        queryHeads: ratio * 2,
                        kvHeads: 2,
                        headDim: [32, 64, 80, 128][index],
                        options: options,
                        storage: storage
                    )
                )
            }
        }
        // ALiBi and block-sparse (tiles counted from each sequence's position 0).
        var alibi = AttentionOptions(causal: true)
        alibi.alibiSlopes = [0.05, 0.1, 0.2, 0.25]
        cases.append(VarlenCase(label: "alibi", queryHeads: 4, kvHeads: 1, headDim: 32, options: alibi, storage: .f16))
        var sparse = AttentionOptions(causal: true)
        sparse.blockSparse = BlockSparseMask(queryTiles: 2, keyTiles: 2, allowed: [true, false, false, true])
        cases.append(
            VarlenCase(label: "block-sparse", queryHeads: 2, kvHeads: 1, headDim: 64, options: sparse, storage: .bf16)
        )
        return cases
    }()

    @Test("varlen", arguments: cases)
    func matchesReference(_ testCase: VarlenCase) throws {
        var generator = SplitMix64.fresh()
        var queryOffsets = [0]
        var keyOffsets = [0]
        for sequence in Self.sequences {
            queryOffsets.append(queryOffsets[queryOffsets.count - 1] + sequence.queries)
            keyOffsets.append(keyOffsets[keyOffsets.count - 1] + sequence.keys)
        }
        let d = testCase.headDim
        let q = generator.floats(queryOffsets[queryOffsets.count - 1] * testCase.queryHeads * d)
        let kvCount = keyOffsets[keyOffsets.count - 1] * testCase.kvHeads * d
        let k = try KVTensor(generator.floats(kvCount), rowLength: d, storage: testCase.storage)
        let v = try KVTensor(generator.floats(kvCount), rowLength: d, storage: testCase.storage)
        let result = try FlashAttention.varlen(
            q: q,
            k: k,
            v: v,
            queryOffsets: queryOffsets,
            keyOffsets: keyOffsets,
            queryHeads: testCase.queryHeads,
            kvHeads: testCase.kvHeads,
            headDim: d,
            options: testCase.options
        )
        let reference = ReferenceAttention.varlen(
            q: q,
            k: k,
            v: v,
            queryOffsets: queryOffsets,
            keyOffsets: keyOffsets,
            queryHeads: testCase.queryHeads,
            kvHeads: testCase.kvHeads,
            headDim: d,
            options: testCase.options
        )
        let deviation = AttentionDeviation(result, reference: reference)
        #expect(deviation.isWithin(testCase.storage.outputTolerance), "seed \(generator.seed): \(deviation)")
    }

    /// Each sequence of a varlen batch gives exactly what the dense kernel gives for it alone.
    @Test func equalsDensePerSequence() throws {
        var generator = SplitMix64.fresh()
        let (hq, hkv, d) = (4, 2, 64)
        let lengths = [(12, 30), (0, 5), (40, 40)]
        var queryOffsets = [0]
        var keyOffsets = [0]
        for (nq, nk) in lengths {
            queryOffsets.append(queryOffsets[queryOffsets.count - 1] + nq)
            keyOffsets.append(keyOffsets[keyOffsets.count - 1] + nk)
        }
        let q = generator.floats(queryOffsets[3] * hq * d)
        let kValues = generator.floats(keyOffsets[3] * hkv * d)
        let vValues = generator.floats(keyOffsets[3] * hkv * d)
        let options = AttentionOptions(causal: true)
        let packed = try FlashAttention.varlen(
            q: q,
            k: try KVTensor(kValues, rowLength: d, storage: .f16),
            v: try KVTensor(vValues, rowLength: d, storage: .f16),
            queryOffsets: queryOffsets,
            keyOffsets: keyOffsets,
            queryHeads: hq,
            kvHeads: hkv,
            headDim: d,
            options: options
        )
        for (s, (nq, nk)) in lengths.enumerated() where nq > 0 {
            // Repack [N, H, D] rows of this sequence as [1, H, N, D].
            func transpose(_ values: [Float], first: Int, count: Int, heads: Int) -> [Float] {
                var out = [Float](repeating: 0, count: count * heads * d)
                for t in 0..<count {
                    for h in 0..<heads {
                        for e in 0..<d { out[(h * count + t) * d + e] = values[((first + t) * heads + h) * d + e] }
                    }
                }
                return out
            }
            let dense = try FlashAttention.dense(
                q: transpose(q, first: queryOffsets[s], count: nq, heads: hq),
                k: try KVTensor(
                    transpose(kValues, first: keyOffsets[s], count: nk, heads: hkv),
                    rowLength: d,
                    storage: .f16
                ),
                v: try KVTensor(
                    transpose(vValues, first: keyOffsets[s], count: nk, heads: hkv),
                    rowLength: d,
                    storage: .f16
                ),
                shape: DenseAttentionShape(
                    batch: 1,
                    queryHeads: hq,
                    kvHeads: hkv,
                    queryLength: nq,
                    keyLength: nk,
                    headDim: d
                ),
                options: options
            )
            var worst: Float = 0
            for t in 0..<nq {
                for h in 0..<hq {
                    let packedRow = (queryOffsets[s] + t) * hq + h
                    let denseRow = h * nq + t
                    worst = max(worst, abs(packed.logSumExp[packedRow] - dense.logSumExp[denseRow]))
                    for e in 0..<d {
                        worst = max(worst, abs(packed.output[packedRow * d + e] - dense.output[denseRow * d + e]))
                    }
                }
            }
            #expect(worst <= 1e-5, "sequence \(s), seed \(generator.seed)")
        }
    }
}

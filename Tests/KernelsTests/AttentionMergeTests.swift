import Foundation
import Kernels
import TestSupport
import Testing

/// Merging partial results over disjoint key shards equals attention over all keys.
@Suite struct AttentionMergeTests {
    /// Keys `range` of a dense `[B, Hkv, Nk, D]` array, as `[B, Hkv, range.count, D]`.
    static func slice(_ values: [Float], rows: Int, keyLength: Int, headDim d: Int, range: Range<Int>) -> [Float] {
        var out: [Float] = []
        out.reserveCapacity(rows * range.count * d)
        for row in 0..<rows {
            out.append(
                contentsOf: values[(row * keyLength + range.lowerBound) * d..<(row * keyLength + range.upperBound) * d]
            )
        }
        return out
    }

    @Test("dense shards", arguments: [[0, 40, 97], [0, 13, 64, 97], [0, 1, 96, 97]])
    func denseShards(_ bounds: [Int]) throws {
        var generator = SplitMix64.fresh()
        let (batch, hq, hkv, nq, nk, d) = (2, 4, 2, 9, 97, 64)
        let shape = DenseAttentionShape(
            batch: batch,
            queryHeads: hq,
            kvHeads: hkv,
            queryLength: nq,
            keyLength: nk,
            headDim: d
        )
        let options = AttentionOptions(scale: 0.9, softcap: 3)
        let q = generator.floats(batch * hq * nq * d)
        let kValues = generator.floats(batch * hkv * nk * d)
        let vValues = generator.floats(batch * hkv * nk * d)
        var parts: [AttentionResult] = []
        for s in 0..<bounds.count - 1 {
            let range = bounds[s]..<bounds[s + 1]
            var shardShape = shape
            shardShape.keyLength = range.count
            parts.append(
                try FlashAttention.dense(
                    q: q,
                    k: try KVTensor(
                        Self.slice(kValues, rows: batch * hkv, keyLength: nk, headDim: d, range: range),
                        rowLength: d,
                        storage: .bf16
                    ),
                    v: try KVTensor(
                        Self.slice(vValues, rows: batch * hkv, keyLength: nk, headDim: d, range: range),
                        rowLength: d,
                        storage: .bf16
                    ),
                    shape: shardShape,
                    options: options
                )
            )
        }
        let merged = try AttentionMerge.merge(parts, headDim: d)
        let k = try KVTensor(kValues, rowLength: d, storage: .bf16)
        let v = try KVTensor(vValues, rowLength: d, storage: .bf16)
        let reference = ReferenceAttention.dense(q: q, k: k, v: v, shape: shape, options: options)
        let deviation = AttentionDeviation(merged, reference: reference)
        #expect(deviation.isWithin(KVStorageType.bf16.outputTolerance), "seed \(generator.seed): \(deviation)")
        let unsharded = try FlashAttention.dense(q: q, k: k, v: v, shape: shape, options: options)
        let direct = AttentionDeviation(unsharded, reference: reference)
        #expect(abs(deviation.outputRelativeL2 - direct.outputRelativeL2) < 1e-4, "seed \(generator.seed)")
    }

    @Test("paged shards", arguments: [2, 3])
    func pagedShards(_ shardCount: Int) throws {
        var generator = SplitMix64.fresh()
        let (hq, hkv, d, nq, pageSize) = (8, 2, 80, 3, 16)
        let kvLengths = [100, 61]
        let problem = try PagedProblem(
            kvLengths: kvLengths,
            pageSize: pageSize,
            kvHeads: hkv,
            headDim: d,
            storage: .int8,
            using: &generator
        )
        let options = AttentionOptions()
        let q = generator.floats(kvLengths.count * nq * hq * d)
        var parts: [AttentionResult] = []
        for shard in 0..<shardCount {
            // Shard s holds pages [s * n / shards, (s + 1) * n / shards) of each sequence.
            var tables: [[Int]] = []
            var lengths: [Int] = []
            for (b, length) in kvLengths.enumerated() {
                let pages = (length + pageSize - 1) / pageSize
                let first = shard * pages / shardCount
                let last = (shard + 1) * pages / shardCount
                tables.append(Array(problem.blockTables[b][first..<last]))
                lengths.append(min(length, last * pageSize) - first * pageSize)
            }
            parts.append(
                try PagedAttention.run(
                    q: q,
                    queryLength: nq,
                    queryHeads: hq,
                    pool: problem.pool,
                    blockTables: tables,
                    kvLengths: lengths,
                    options: options
                )
            )
        }
        let merged = try AttentionMerge.merge(parts, headDim: d)
        let reference = ReferenceAttention.paged(
            q: q,
            queryLength: nq,
            queryHeads: hq,
            pool: problem.pool,
            blockTables: problem.blockTables,
            kvLengths: kvLengths,
            options: options
        )
        let deviation = AttentionDeviation(merged, reference: reference)
        #expect(deviation.isWithin(KVStorageType.int8.outputTolerance), "seed \(generator.seed): \(deviation)")
    }

    /// A shard whose every row saw nothing (lse = -inf) leaves the other's result unchanged.
    @Test func emptyShardChangesNothing() throws {
        var generator = SplitMix64.fresh()
        let d = 32
        let shape = DenseAttentionShape(batch: 1, queryHeads: 2, kvHeads: 1, queryLength: 5, keyLength: 70, headDim: d)
        let q = generator.floats(2 * 5 * d)
        let k = try KVTensor(generator.floats(70 * d), rowLength: d, storage: .f32)
        let v = try KVTensor(generator.floats(70 * d), rowLength: d, storage: .f32)
        let full = try FlashAttention.dense(q: q, k: k, v: v, shape: shape)
        var nothing = AttentionOptions()
        nothing.blockSparse = BlockSparseMask(queryTiles: 2, keyTiles: 2, allowed: [false, false, false, false])
        let empty = try FlashAttention.dense(q: q, k: k, v: v, shape: shape, options: nothing)
        #expect(empty.logSumExp.allSatisfy { $0 == -.infinity })
        #expect(empty.output.allSatisfy { $0 == 0 })
        #expect(try AttentionMerge.merge([empty, full], headDim: d) == full, "seed \(generator.seed)")
        #expect(try AttentionMerge.merge([full, empty, empty], headDim: d) == full, "seed \(generator.seed)")
        let allEmpty = try AttentionMerge.merge([empty, empty], headDim: d)
        #expect(allEmpty.logSumExp.allSatisfy { $0 == -.infinity })
        #expect(allEmpty.output.allSatisfy { $0 == 0 })
    }

    /// Merging one part returns it; the lse of a merge is log Σ exp(lse_i).
    @Test func lseOfMergeIsLogSumOfExp() throws {
        let a = AttentionResult(output: [1, 0, 2, 2], logSumExp: [0, 1])
        let b = AttentionResult(output: [0, 1, 4, 4], logSumExp: [0, -.infinity])
        let merged = try AttentionMerge.merge([a, b], headDim: 2)
        #expect(abs(merged.logSumExp[0] - log(Float(2))) < 1e-6)
        #expect(abs(merged.output[0] - 0.5) < 1e-6 && abs(merged.output[1] - 0.5) < 1e-6)
        #expect(merged.logSumExp[1] == 1 && merged.output[2] == 2 && merged.output[3] == 2)
        #expect(try AttentionMerge.merge([a], headDim: 2) == a)
    }
}

import Kernels
import TestSupport
import Testing

/// One thread and the default (every core) give bit-identical results.
@Suite struct ThreadDeterminismTests {
    static func bits(_ result: AttentionResult) -> [UInt32] {
        result.output.map(\.bitPattern) + result.logSumExp.map(\.bitPattern)
    }

    @Test func dense() throws {
        var generator = SplitMix64.fresh()
        let shape = DenseAttentionShape(
            batch: 2,
            queryHeads: 8,
            kvHeads: 2,
            queryLength: 150,
            keyLength: 190,
            headDim: 64
        )
        let q = generator.floats(2 * 8 * 150 * 64)
        let k = try KVTensor(generator.floats(2 * 2 * 190 * 64), rowLength: 64, storage: .f16)
        let v = try KVTensor(generator.floats(2 * 2 * 190 * 64), rowLength: 64, storage: .f16)
        var options = AttentionOptions(causal: true, softcap: 4)
        options.threads = 1
        let one = try FlashAttention.dense(q: q, k: k, v: v, shape: shape, options: options)
        options.threads = nil
        let all = try FlashAttention.dense(q: q, k: k, v: v, shape: shape, options: options)
        options.threads = 3
        let three = try FlashAttention.dense(q: q, k: k, v: v, shape: shape, options: options)
        #expect(Self.bits(one) == Self.bits(all), "seed \(generator.seed)")
        #expect(Self.bits(one) == Self.bits(three), "seed \(generator.seed)")
    }

    @Test func varlen() throws {
        var generator = SplitMix64.fresh()
        let queryOffsets = [0, 70, 70, 171]
        let keyOffsets = [0, 90, 100, 230]
        let q = generator.floats(171 * 4 * 80)
        let k = try KVTensor(generator.floats(230 * 2 * 80), rowLength: 80, storage: .bf16)
        let v = try KVTensor(generator.floats(230 * 2 * 80), rowLength: 80, storage: .bf16)
        var options = AttentionOptions(causal: true, window: AttentionWindow(left: 50, right: 0))
        options.threads = 1
        let one = try FlashAttention.varlen(
            q: q,
            k: k,
            v: v,
            queryOffsets: queryOffsets,
            keyOffsets: keyOffsets,
            queryHeads: 4,
            kvHeads: 2,
            headDim: 80,
            options: options
        )
        options.threads = nil
        let all = try FlashAttention.varlen(
            q: q,
            k: k,
            v: v,
            queryOffsets: queryOffsets,
            keyOffsets: keyOffsets,
            queryHeads: 4,
            kvHeads: 2,
            headDim: 80,
            options: options
        )
        #expect(Self.bits(one) == Self.bits(all), "seed \(generator.seed)")
    }

    @Test("paged", arguments: [KVStorageType.f16, .int8])
    func paged(_ storage: KVStorageType) throws {
        var generator = SplitMix64.fresh()
        let problem = try PagedProblem(
            kvLengths: [300, 45, 129, 16],
            pageSize: 16,
            kvHeads: 2,
            headDim: 128,
            storage: storage,
            using: &generator
        )
        let q = generator.floats(4 * 2 * 8 * 128)
        var options = AttentionOptions(causal: true)
        options.threads = 1
        let one = try PagedAttention.run(
            q: q,
            queryLength: 2,
            queryHeads: 8,
            pool: problem.pool,
            blockTables: problem.blockTables,
            kvLengths: problem.kvLengths,
            options: options
        )
        options.threads = nil
        let all = try PagedAttention.run(
            q: q,
            queryLength: 2,
            queryHeads: 8,
            pool: problem.pool,
            blockTables: problem.blockTables,
            kvLengths: problem.kvLengths,
            options: options
        )
        #expect(Self.bits(one) == Self.bits(all), "seed \(generator.seed)")
    }
}

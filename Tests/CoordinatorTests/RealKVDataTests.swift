import Foundation
import Kernels
import TestSupport
import Testing

@testable import Coordinator

/// The repository's real KV fixture (`Tests/Fixtures/minilm-kv-a.npy`) read through
/// `NPYArray` and run through the attention job.
@Suite
struct RealKVDataTests {

    @Test func readsTheFloat16File() throws {
        let array = try RealKVFile.array()
        #expect(array.elementType == .float16)
        #expect(array.shape == [6, 2, 420, 12, 32])
        #expect(array.values.allSatisfy { $0.isFinite })
        let largest = array.values.reduce(0) { max($0, abs($1)) }
        #expect(abs(largest - 12.17) < 0.01)
    }

    /// Layer 0's keys and values as `[1, 12, 420, 32]`, its first 64 keys as queries, causal.
    @Test func causalAttentionOnRealKeysAndValues() throws {
        let array = try RealKVFile.array()
        let (tokens, heads, d) = (420, 12, 32)
        func layer0(_ kv: Int, tokens count: Int) throws -> NPYArray {
            var values = [Float](repeating: 0, count: heads * count * d)
            for t in 0..<count {
                for h in 0..<heads {
                    for e in 0..<d {
                        values[(h * count + t) * d + e] = array.values[((kv * tokens + t) * heads + h) * d + e]
                    }
                }
            }
            return try NPYArray(shape: [1, heads, count, d], values: values, elementType: .float16)
        }
        let k = try layer0(0, tokens: tokens)
        let v = try layer0(1, tokens: tokens)
        let q = try layer0(0, tokens: 64)
        let (output, lse) = try AttentionJob.compute(q: q, k: k, v: v, storage: nil, options: .init(causal: true))
        let reference = ReferenceAttention.dense(
            q: q.values,
            k: try KVTensor(k.values, rowLength: d, storage: .f32),
            v: try KVTensor(v.values, rowLength: d, storage: .f32),
            shape: DenseAttentionShape(
                batch: 1,
                queryHeads: heads,
                kvHeads: heads,
                queryLength: 64,
                keyLength: tokens,
                headDim: d
            ),
            options: AttentionOptions(causal: true)
        )
        let deviation = AttentionDeviation(
            AttentionResult(output: output.values, logSumExp: lse.values),
            reference: reference
        )
        #expect(deviation.countsMatch && deviation.logSumExpMismatches == 0, "\(deviation)")
        #expect(deviation.outputRelativeL2 < 1e-5, "\(deviation)")
        #expect(deviation.logSumExpError < 1e-4, "\(deviation)")
    }
}

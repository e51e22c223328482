import CacheProtocol
import Kernels

/// The dense kernel's answer for one sequence, as the worker should give it: `queries` `[T, Hq, D]`
/// are the last `T` of the sequence's positions, `keys` and `values` `[N, Hkv, D]` all its tokens
/// (stored in `storage` as the worker stores them). Returns output `[T, Hq, D]` and lse `[T, Hq]`.
func referenceAttention(
    queries: [Float], keys: [Float], values: [Float], spec: ModelSpec, causal: Bool = true
) throws -> (output: [Float], lse: [Float]) {
    let (hq, hkv, d) = (spec.queryHeads, spec.kvHeads, spec.headDim)
    let t = queries.count / (hq * d)
    let n = keys.count / (hkv * d)
    func headMajor(_ x: [Float], tokens: Int, heads: Int) -> [Float] {
        var out = [Float](repeating: 0, count: x.count)
        for token in 0..<tokens {
            for head in 0..<heads {
                for i in 0..<d { out[(head * tokens + token) * d + i] = x[(token * heads + head) * d + i] }
            }
        }
        return out
    }
    let result = try FlashAttention.dense(
        q: headMajor(queries, tokens: t, heads: hq),
        k: KVTensor(headMajor(keys, tokens: n, heads: hkv), rowLength: d, storage: spec.kvStorage),
        v: KVTensor(headMajor(values, tokens: n, heads: hkv), rowLength: d, storage: spec.kvStorage),
        shape: DenseAttentionShape(batch: 1, queryHeads: hq, kvHeads: hkv, queryLength: t, keyLength: n, headDim: d),
        options: AttentionOptions(causal: causal))
    var output = [Float](repeating: 0, count: t * hq * d)
    var lse = [Float](repeating: 0, count: t * hq)
    for token in 0..<t {
        for head in 0..<hq {
            lse[token * hq + head] = result.logSumExp[head * t + token]
            for i in 0..<d { output[(token * hq + head) * d + i] = result.output[(head * t + token) * d + i] }
        }
    }
    return (output, lse)
}

/// The largest absolute difference of two equally long arrays (infinity when lengths differ).
func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
    guard a.count == b.count else { return .infinity }
    return zip(a, b).map { abs($0 - $1) }.max() ?? 0
}

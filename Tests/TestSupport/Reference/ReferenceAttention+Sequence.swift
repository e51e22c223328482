import CacheProtocol
import Kernels

extension ReferenceAttention {
    /// One sequence as a worker holds it and the protocol carries it (tokens, then heads):
    /// `queries` `[T, Hq, D]` are the sequence's last `T` positions, `keys` and `values`
    /// `[N, Hkv, D]` all its tokens, stored as `spec.kvStorage` stores them. Output `[T, Hq, D]`,
    /// lse `[T, Hq]`; causal unless `options` say otherwise.
    public static func sequence(
        queries: [Float],
        keys: [Float],
        values: [Float],
        spec: ModelSpec,
        options: AttentionOptions = AttentionOptions(causal: true)
    ) throws -> Result {
        let (hq, hkv, d) = (spec.queryHeads, spec.kvHeads, spec.headDim)
        return varlen(
            q: queries,
            k: try KVTensor(keys, rowLength: d, storage: spec.kvStorage),
            v: try KVTensor(values, rowLength: d, storage: spec.kvStorage),
            queryOffsets: [0, queries.count / (hq * d)],
            keyOffsets: [0, keys.count / (hkv * d)],
            queryHeads: hq,
            kvHeads: hkv,
            headDim: d,
            options: options
        )
    }
}

import Kernels

/// The in-process check of a worker's attention: the Kernels' dense causal attention of one
/// sequence's last query rows over its whole K/V history, in the worker's KV storage type, laid out
/// as the wire carries it (rows, then heads).
struct DenseReference: Sendable {
    /// Query heads, KV heads and head dimension.
    var queryHeads: Int
    var kvHeads: Int
    var headDim: Int
    /// How the worker stores K and V (the reference rounds them the same way).
    var storage: KVStorageType

    /// Attention of `queries` (`[rows, Hq, D]`, the last rows of the sequence) over `keys` and
    /// `values` (one `[Hkv * D]` row per token, oldest first), causal and aligned bottom-right:
    /// output `[rows, Hq, D]` and log-sum-exp `[rows, Hq]`.
    func attention(queries: [Float], keys: [[Float]], values: [[Float]]) throws(KernelError) -> AttentionResult {
        let d = headDim
        let rows = queries.count / (queryHeads * d)
        let tokens = keys.count
        var headMajorQueries = [Float](repeating: 0, count: queries.count)
        for row in 0..<rows {
            for head in 0..<queryHeads {
                for e in 0..<d {
                    headMajorQueries[(head * rows + row) * d + e] = queries[(row * queryHeads + head) * d + e]
                }
            }
        }
        func headMajor(_ history: [[Float]]) -> [Float] {
            var out = [Float](repeating: 0, count: kvHeads * tokens * d)
            for token in 0..<tokens {
                for head in 0..<kvHeads {
                    for e in 0..<d { out[(head * tokens + token) * d + e] = history[token][head * d + e] }
                }
            }
            return out
        }
        let result = try FlashAttention.dense(
            q: headMajorQueries,
            k: try KVTensor(headMajor(keys), rowLength: d, storage: storage),
            v: try KVTensor(headMajor(values), rowLength: d, storage: storage),
            shape: DenseAttentionShape(
                batch: 1,
                queryHeads: queryHeads,
                kvHeads: kvHeads,
                queryLength: rows,
                keyLength: tokens,
                headDim: d
            ),
            options: AttentionOptions(causal: true)
        )
        var output = [Float](repeating: 0, count: queries.count)
        var logSumExp = [Float](repeating: 0, count: rows * queryHeads)
        for row in 0..<rows {
            for head in 0..<queryHeads {
                let source = head * rows + row
                logSumExp[row * queryHeads + head] = result.logSumExp[source]
                for e in 0..<d { output[(row * queryHeads + head) * d + e] = result.output[source * d + e] }
            }
        }
        return AttentionResult(output: output, logSumExp: logSumExp)
    }
}

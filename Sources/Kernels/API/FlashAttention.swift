/// Tiled (FlashAttention-2 style) attention over K/V held in contiguous tensors, in `f32`, `f16`,
/// `bf16` or `int8` storage, always computed in `Float`.
///
/// Both entry points validate every argument and throw `KernelError` instead of trapping, apply the
/// options as `AttentionOptions` documents them, and give bit-identical results for any thread count.
public enum FlashAttention {
    /// Attention of a padded batch.
    ///
    /// q `[B, Hq, Nq, D]` f32; k, v `[B, Hkv, Nk, D]` in any storage (rowLength D).
    /// Returns output [B, Hq, Nq, D] and lse [B, Hq, Nq].
    public static func dense(
        q: [Float],
        k: KVTensor,
        v: KVTensor,
        shape: DenseAttentionShape,
        options: AttentionOptions = .init()
    ) throws(KernelError) -> AttentionResult {
        let dims = [
            ("batch", shape.batch), ("queryHeads", shape.queryHeads), ("kvHeads", shape.kvHeads),
            ("queryLength", shape.queryLength), ("keyLength", shape.keyLength), ("headDim", shape.headDim),
        ]
        for (name, value) in dims where value <= 0 { throw .invalidDimension(name: name, value: value) }
        guard shape.queryHeads % shape.kvHeads == 0 else {
            throw .headRatio(queryHeads: shape.queryHeads, kvHeads: shape.kvHeads)
        }
        let resolved = try ResolvedAttentionOptions(options, queryHeads: shape.queryHeads, headDim: shape.headDim)
        let queryRows = try CheckedProduct.of(shape.batch, shape.queryHeads, shape.queryLength, naming: "q")
        let queryCount = try CheckedProduct.of(queryRows, shape.headDim, naming: "q")
        guard q.count == queryCount else { throw .shapeMismatch(tensor: "q", expected: queryCount, actual: q.count) }
        try KVTensor.checkSameStorage(keys: k, values: v)
        let keyRows = try CheckedProduct.of(shape.batch, shape.kvHeads, shape.keyLength, naming: "k")
        try k.check(rows: keyRows, rowLength: shape.headDim, name: "k")
        try v.check(rows: keyRows, rowLength: shape.headDim, name: "v")
        try resolved.checkCoverage(maxKeyCount: shape.keyLength)

        let perBatchQuery = shape.queryHeads * shape.queryLength
        let sequences = (0..<shape.batch).map { b in
            AttentionSequence(
                queryCount: shape.queryLength,
                keyCount: shape.keyLength,
                queryBase: b * perBatchQuery * shape.headDim,
                queryTokenStride: shape.headDim,
                queryHeadStride: shape.queryLength * shape.headDim,
                lseBase: b * perBatchQuery,
                lseTokenStride: 1,
                lseHeadStride: shape.queryLength,
                keyRows: .strided(
                    base: b * shape.kvHeads * shape.keyLength,
                    headStride: shape.keyLength,
                    tokenStride: 1
                )
            )
        }
        let problem = AttentionProblem(
            queryHeads: shape.queryHeads,
            kvHeads: shape.kvHeads,
            headDim: shape.headDim,
            options: resolved,
            sequences: sequences,
            pageTable: [],
            outputCount: queryCount,
            rowCount: queryRows
        )
        return problem.run(q: q, keys: k, values: v)
    }

    /// Attention of packed variable-length sequences.
    ///
    /// Packed varlen: q [Tq, Hq, D] f32; k, v [Tk, Hkv, D]; queryOffsets / keyOffsets are cumulative
    /// (count = sequences + 1, starting at 0, non-decreasing, ending at Tq / Tk). Each sequence is its
    /// own attention problem with the same options (causal/window aligned bottom-right per sequence,
    /// block-sparse tiles counted from each sequence's position 0). A sequence with queries but no
    /// keys gives zero rows with lse = -inf. The block-sparse mask must cover the longest sequence's
    /// keys in both directions.
    /// Returns output [Tq, Hq, D], lse [Tq, Hq].
    public static func varlen(
        q: [Float],
        k: KVTensor,
        v: KVTensor,
        queryOffsets: [Int],
        keyOffsets: [Int],
        queryHeads: Int,
        kvHeads: Int,
        headDim: Int,
        options: AttentionOptions = .init()
    ) throws(KernelError) -> AttentionResult {
        for (name, value) in [("queryHeads", queryHeads), ("kvHeads", kvHeads), ("headDim", headDim)]
        where value <= 0 {
            throw .invalidDimension(name: name, value: value)
        }
        guard queryHeads % kvHeads == 0 else { throw .headRatio(queryHeads: queryHeads, kvHeads: kvHeads) }
        let resolved = try ResolvedAttentionOptions(options, queryHeads: queryHeads, headDim: headDim)
        guard queryOffsets.count >= 2, queryOffsets.count == keyOffsets.count else {
            throw .invalidOffsets(
                "need one more offset than sequences (at least 2) in both lists, got \(queryOffsets.count) query"
                    + " and \(keyOffsets.count) key offsets"
            )
        }
        for (name, offsets) in [("query", queryOffsets), ("key", keyOffsets)] {
            guard offsets[0] == 0 else { throw .invalidOffsets("\(name) offsets must start at 0, got \(offsets[0])") }
            for i in 1..<offsets.count where offsets[i] < offsets[i - 1] {
                throw .invalidOffsets("\(name) offsets decrease at index \(i): \(offsets[i - 1]) then \(offsets[i])")
            }
        }
        let totalQueries = queryOffsets[queryOffsets.count - 1]
        let totalKeys = keyOffsets[keyOffsets.count - 1]
        let queryRows = try CheckedProduct.of(totalQueries, queryHeads, naming: "q")
        let queryCount = try CheckedProduct.of(queryRows, headDim, naming: "q")
        guard q.count == queryCount else { throw .shapeMismatch(tensor: "q", expected: queryCount, actual: q.count) }
        try KVTensor.checkSameStorage(keys: k, values: v)
        let keyRows = try CheckedProduct.of(totalKeys, kvHeads, naming: "k")
        try k.check(rows: keyRows, rowLength: headDim, name: "k")
        try v.check(rows: keyRows, rowLength: headDim, name: "v")

        var sequences: [AttentionSequence] = []
        var maxKeys = 0
        for s in 0..<(queryOffsets.count - 1) {
            let keyCount = keyOffsets[s + 1] - keyOffsets[s]
            maxKeys = max(maxKeys, keyCount)
            sequences.append(
                AttentionSequence(
                    queryCount: queryOffsets[s + 1] - queryOffsets[s],
                    keyCount: keyCount,
                    queryBase: queryOffsets[s] * queryHeads * headDim,
                    queryTokenStride: queryHeads * headDim,
                    queryHeadStride: headDim,
                    lseBase: queryOffsets[s] * queryHeads,
                    lseTokenStride: queryHeads,
                    lseHeadStride: 1,
                    keyRows: .strided(base: keyOffsets[s] * kvHeads, headStride: 1, tokenStride: kvHeads)
                )
            )
        }
        try resolved.checkCoverage(maxKeyCount: maxKeys)
        let problem = AttentionProblem(
            queryHeads: queryHeads,
            kvHeads: kvHeads,
            headDim: headDim,
            options: resolved,
            sequences: sequences,
            pageTable: [],
            outputCount: queryCount,
            rowCount: queryRows
        )
        return problem.run(q: q, keys: k, values: v)
    }
}

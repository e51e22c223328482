/// Attention over K/V held in a `KVPagePool` and addressed through per-sequence block tables
/// (decode, multi-token decode such as speculative verify, and chunked prefill over cached pages).
public enum PagedAttention {
    /// Attention of a batch of sequences whose keys live in `pool`.
    ///
    /// q [B, Nq, Hq, D] f32 against `pool`; sequence b's keys are its first kvLengths[b] tokens, token t at
    /// page blockTables[b][t / pageSize], slot t % pageSize. Its Nq queries are its last Nq tokens
    /// (aligned bottom-right: query i at position kvLengths[b] - Nq + i), so causal/window work as in
    /// dense. Requires kvLengths[b] >= 0 (.invalidDimension), and kvLengths[b] >= Nq when causal
    /// (.kvLengthTooShort); without the causal mask a sequence may hold fewer keys than it has
    /// queries (the keys of another shard's tokens, say), and with no window or block-sparse mask
    /// every query then sees all of its keys (none: zeros and lse -inf). Every needed page id must
    /// be in range (.pageOutOfRange), kvLengths[b] <= blockTables[b].count * pageSize
    /// (.kvLengthExceedsBlockTable).
    /// `B` is `kvLengths.count` (at least 1) and `blockTables` must have as many entries.
    /// Options: causal, window, softcap, ALiBi, scale, threads, blockSparse (which must cover the
    /// longest kvLength in both directions).
    /// Returns output [B, Nq, Hq, D], lse [B, Nq, Hq].
    public static func run(
        q: [Float],
        queryLength: Int,
        queryHeads: Int,
        pool: KVPagePool,
        blockTables: [[Int]],
        kvLengths: [Int],
        options: AttentionOptions = .init()
    ) throws(KernelError) -> AttentionResult {
        let batch = kvLengths.count
        for (name, value) in [("queryLength", queryLength), ("queryHeads", queryHeads), ("batch", batch)]
        where value <= 0 {
            throw .invalidDimension(name: name, value: value)
        }
        guard blockTables.count == batch else {
            throw .shapeMismatch(tensor: "blockTables", expected: batch, actual: blockTables.count)
        }
        let headDim = pool.headDim
        guard queryHeads % pool.kvHeads == 0 else { throw .headRatio(queryHeads: queryHeads, kvHeads: pool.kvHeads) }
        let resolved = try ResolvedAttentionOptions(options, queryHeads: queryHeads, headDim: headDim)
        let queryRows = try CheckedProduct.of(batch, queryLength, queryHeads, naming: "q")
        let queryCount = try CheckedProduct.of(queryRows, headDim, naming: "q")
        guard q.count == queryCount else { throw .shapeMismatch(tensor: "q", expected: queryCount, actual: q.count) }
        try KVTensor.checkSameStorage(keys: pool.keys, values: pool.values)
        let poolRows = try CheckedProduct.of(pool.pageCount, pool.pageSize, pool.kvHeads, naming: "page pool")
        try pool.keys.check(rows: poolRows, rowLength: headDim, name: "pool keys")
        try pool.values.check(rows: poolRows, rowLength: headDim, name: "pool values")

        var pageTable: [Int] = []
        var sequences: [AttentionSequence] = []
        var maxKeys = 0
        for b in 0..<batch {
            let kvLength = kvLengths[b]
            guard kvLength >= 0 else { throw .invalidDimension(name: "kvLengths[\(b)]", value: kvLength) }
            guard !options.causal || kvLength >= queryLength else {
                throw .kvLengthTooShort(sequence: b, kvLength: kvLength, queryLength: queryLength)
            }
            let table = blockTables[b]
            let (capacity, overflow) = table.count.multipliedReportingOverflow(by: pool.pageSize)
            guard overflow || kvLength <= capacity else {
                throw .kvLengthExceedsBlockTable(sequence: b, kvLength: kvLength, capacity: capacity)
            }
            let pagesNeeded = (kvLength + pool.pageSize - 1) / pool.pageSize
            let tableStart = pageTable.count
            for page in table[0..<pagesNeeded] {
                guard page >= 0, page < pool.pageCount else {
                    throw .pageOutOfRange(sequence: b, page: page, poolPages: pool.pageCount)
                }
                pageTable.append(page)
            }
            maxKeys = max(maxKeys, kvLength)
            sequences.append(
                AttentionSequence(
                    queryCount: queryLength,
                    keyCount: kvLength,
                    queryBase: b * queryLength * queryHeads * headDim,
                    queryTokenStride: queryHeads * headDim,
                    queryHeadStride: headDim,
                    lseBase: b * queryLength * queryHeads,
                    lseTokenStride: queryHeads,
                    lseHeadStride: 1,
                    keyRows: .paged(tableStart: tableStart, pageSize: pool.pageSize, kvHeads: pool.kvHeads)
                )
            )
        }
        try resolved.checkCoverage(maxKeyCount: maxKeys)
        let problem = AttentionProblem(
            queryHeads: queryHeads,
            kvHeads: pool.kvHeads,
            headDim: headDim,
            options: resolved,
            sequences: sequences,
            pageTable: pageTable,
            outputCount: queryCount,
            rowCount: queryRows
        )
        return problem.run(q: q, keys: pool.keys, values: pool.values)
    }
}

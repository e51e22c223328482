/// A validated attention call reduced to what the kernels need: independent sequences over shared
/// q/K/V buffers, the head layout and the resolved options. Every entry point builds one and runs it.
struct AttentionProblem: Sendable {
    /// Query heads.
    let queryHeads: Int
    /// KV heads.
    let kvHeads: Int
    /// Elements per head.
    let headDim: Int
    /// Validated options.
    let options: ResolvedAttentionOptions
    /// The independent problems.
    let sequences: [AttentionSequence]
    /// Every sequence's block table, concatenated (empty unless paged).
    let pageTable: [Int]
    /// Output floats (`rows * headDim`).
    let outputCount: Int
    /// Log-sum-exp entries (rows).
    let rowCount: Int

    /// Query rows per tiled work item, before rounding to whole tokens.
    static let blockRows = 48
    /// Consecutive tiled work items a worker claims at once. A query block's neighbours see most
    /// of its key tiles, which stay packed in the worker's scratch (`AttentionScratch`): one item
    /// at a time, two workers would take every other block and pack each tile about twice as often.
    static let tiledItemsPerClaim = 8

    /// Computes the call on `options.threads` workers.
    func run(q: [Float], keys: KVTensor, values: KVTensor) -> AttentionResult {
        let group = queryHeads / kvHeads
        let maxQueries = sequences.map(\.queryCount).max() ?? 0
        // Every row is written by exactly one work item, so the results start uninitialised: their
        // pages are first touched by the workers, in parallel, rather than zeroed here on one thread,
        // and a large output asks for huge pages first (far fewer page faults on that first touch).
        var output = [Float](unsafeUninitializedCapacity: outputCount) { buffer, count in
            if let base = buffer.baseAddress {
                HugePageAdvice.prefer(base, byteCount: outputCount * MemoryLayout<Float>.stride)
            }
            count = outputCount
        }
        var logSumExp = [Float](unsafeUninitializedCapacity: rowCount) { _, count in count = rowCount }
        let noScales: [Float] = [0]
        q.withUnsafeBufferPointer { qBuffer in
            output.withUnsafeMutableBufferPointer { outBuffer in
                logSumExp.withUnsafeMutableBufferPointer { lseBuffer in
                    keys.bytes.withUnsafeBytes { keyBytes in
                        values.bytes.withUnsafeBytes { valueBytes in
                            (keys.scales.isEmpty ? noScales : keys.scales).withUnsafeBufferPointer { keyScales in
                                (values.scales.isEmpty ? noScales : values.scales).withUnsafeBufferPointer {
                                    valueScales in
                                    (pageTable.isEmpty ? [0] : pageTable).withUnsafeBufferPointer { table in
                                        guard let qBase = qBuffer.baseAddress, let outBase = outBuffer.baseAddress,
                                            let lseBase = lseBuffer.baseAddress, let keyBase = keyBytes.baseAddress,
                                            let valueBase = valueBytes.baseAddress,
                                            let keyScaleBase = keyScales.baseAddress,
                                            let valueScaleBase = valueScales.baseAddress,
                                            let tableBase = table.baseAddress
                                        else {
                                            // No keys at all: every row is empty.
                                            outBuffer.update(repeating: 0)
                                            lseBuffer.update(repeating: -.infinity)
                                            return
                                        }
                                        let buffers = AttentionBuffers(
                                            queries: qBase,
                                            output: outBase,
                                            logSumExp: lseBase,
                                            keys: KVRowReader(
                                                bytes: keyBase,
                                                scales: keyScaleBase,
                                                storage: keys.storage,
                                                rowLength: headDim
                                            ),
                                            values: KVRowReader(
                                                bytes: valueBase,
                                                scales: valueScaleBase,
                                                storage: values.storage,
                                                rowLength: headDim
                                            ),
                                            pageTable: tableBase
                                        )
                                        if DecodeAttentionKernel.handles(rows: maxQueries * group, headDim: headDim) {
                                            runDecode(buffers: buffers)
                                        } else {
                                            runTiled(buffers: buffers)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return AttentionResult(output: output, logSumExp: logSumExp)
    }

    /// Runs the streaming kernel. An item is a sequence and a range of its KV heads: as many heads
    /// as still leave about two items per thread, so that the heads' rows of a page are read together.
    private func runDecode(buffers: AttentionBuffers) {
        let group = queryHeads / kvHeads
        let kernel = DecodeAttentionKernel(headDim: headDim, group: group, options: options)
        let active = sequences.filter { $0.queryCount > 0 }
        guard !active.isEmpty else { return }
        let splits = min(kvHeads, (2 * options.threads + active.count - 1) / active.count)
        let headsPerItem = (kvHeads + splits - 1) / splits
        let itemsPerSequence = (kvHeads + headsPerItem - 1) / headsPerItem
        let maxRows = kernel.paddedRows(queryCount: active.map(\.queryCount).max() ?? 0) * headsPerItem
        ParallelWork.run(itemCount: active.count * itemsPerSequence, threads: options.threads) { claim in
            let scratch = DecodeScratch(maxRows: maxRows, headDim: headDim)
            while let index = claim() {
                let firstHead = index % itemsPerSequence * headsPerItem
                kernel.run(
                    kvHeads: firstHead..<min(kvHeads, firstHead + headsPerItem),
                    sequence: active[index / itemsPerSequence],
                    buffers: buffers,
                    scratch: scratch
                )
            }
        }
    }

    /// Runs the tiled kernel on blocks of query tokens.
    private func runTiled(buffers: AttentionBuffers) {
        let group = queryHeads / kvHeads
        let paddedDim = (headDim + 15) / 16 * 16
        let kernel = TiledAttentionKernel(headDim: headDim, paddedDim: paddedDim, group: group, options: options)
        let tokensPerBlock = max(1, Self.blockRows / group)
        let items = workItems(tokensPerBlock: tokensPerBlock)
        let maxKeys = sequences.lazy.filter { $0.queryCount > 0 }.map(\.keyCount).max() ?? 0
        let keyTile = TileMicroKernels.keyTile
        let headTiles = (maxKeys + keyTile - 1) / keyTile
        // A block sees a span of keys that touches at most span / 64 + 2 tiles.
        let tiles =
            options.visibility.keySpan(positions: tokensPerBlock).map { min(headTiles, $0 / keyTile + 2) }
            ?? headTiles
        let maxRows = kernel.paddedRows(tokens: tokensPerBlock)
        let run = Self.tiledItemsPerClaim
        ParallelWork.run(itemCount: (items.count + run - 1) / run, threads: options.threads) { claim in
            var scratch = AttentionScratch(
                tiles: tiles,
                maxRows: maxRows,
                headDim: headDim,
                paddedDim: paddedDim
            )
            while let claimed = claim() {
                for item in items[claimed * run..<min(items.count, (claimed + 1) * run)] {
                    kernel.run(
                        item,
                        sequence: sequences[item.sequence],
                        sequenceIndex: item.sequence,
                        buffers: buffers,
                        scratch: &scratch
                    )
                }
            }
        }
    }

    /// The tiled kernel's items: per sequence with queries, per KV head, blocks of `tokensPerBlock`
    /// query tokens, largest blocks first (under a causal mask the last blocks see the most keys).
    private func workItems(tokensPerBlock: Int) -> [TiledAttentionKernel.Item] {
        var items: [TiledAttentionKernel.Item] = []
        for (index, sequence) in sequences.enumerated() where sequence.queryCount > 0 {
            let blocks = (sequence.queryCount + tokensPerBlock - 1) / tokensPerBlock
            for head in 0..<kvHeads {
                for block in (0..<blocks).reversed() {
                    let first = block * tokensPerBlock
                    items.append(
                        .init(
                            sequence: index,
                            kvHead: head,
                            firstToken: first,
                            tokenCount: min(tokensPerBlock, sequence.queryCount - first)
                        )
                    )
                }
            }
        }
        return items
    }
}

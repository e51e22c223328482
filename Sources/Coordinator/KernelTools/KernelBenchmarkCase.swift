import Kernels

/// One attention workload of `mfa-coordinator bench kernels`: a dense prefill, rated in GFLOP/s
/// against the FMA peak, or a paged decode, rated in GB/s of K and V read against the memory
/// read bandwidth.
public struct KernelBenchmarkCase: Sendable {
    /// What the case computes.
    enum Workload: Sendable {
        /// Dense attention of `shape` with K/V in `storage`.
        case prefill(shape: DenseAttentionShape, causal: Bool, window: AttentionWindow, storage: KVStorageType)
        /// One query token per sequence against `tokens` cached tokens each, in pages of
        /// `pageSize` with shuffled block tables.
        case decode(
            batch: Int,
            queryHeads: Int,
            kvHeads: Int,
            headDim: Int,
            tokens: Int,
            pageSize: Int,
            storage: KVStorageType
        )
    }

    /// The name `--case` selects.
    var name: String
    /// The workload.
    var workload: Workload

    /// Every case, in the order they run.
    static let all: [KernelBenchmarkCase] = [
        prefill("prefill-causal-d64-n4096-f16", heads: 8, length: 4096, headDim: 64, causal: true, storage: .f16),
        prefill("prefill-causal-d128-n4096-f16", heads: 8, length: 4096, headDim: 128, causal: true, storage: .f16),
        prefill("prefill-causal-d128-n4096-bf16", heads: 8, length: 4096, headDim: 128, causal: true, storage: .bf16),
        prefill("prefill-dense-d128-n1024-f32", heads: 8, length: 1024, headDim: 128, causal: false, storage: .f32),
        prefill(
            "prefill-gqa-causal-d128-n2048-f16",
            heads: 32,
            kvHeads: 8,
            length: 2048,
            headDim: 128,
            causal: true,
            storage: .f16
        ),
        prefill(
            "prefill-window256-d128-n8192-f16",
            heads: 8,
            length: 8192,
            headDim: 128,
            causal: true,
            window: AttentionWindow(left: 255, right: 0),
            storage: .f16
        ),
        KernelBenchmarkCase(
            name: "decode-paged-f16",
            workload: .decode(
                batch: 8,
                queryHeads: 32,
                kvHeads: 8,
                headDim: 128,
                tokens: 4096,
                pageSize: 16,
                storage: .f16
            )
        ),
        KernelBenchmarkCase(
            name: "decode-paged-int8",
            workload: .decode(
                batch: 8,
                queryHeads: 32,
                kvHeads: 8,
                headDim: 128,
                tokens: 4096,
                pageSize: 16,
                storage: .int8
            )
        ),
    ]

    private static func prefill(
        _ name: String,
        heads: Int,
        kvHeads: Int? = nil,
        length: Int,
        headDim: Int,
        causal: Bool,
        window: AttentionWindow = .unbounded,
        storage: KVStorageType
    ) -> KernelBenchmarkCase {
        KernelBenchmarkCase(
            name: name,
            workload: .prefill(
                shape: DenseAttentionShape(
                    batch: 1,
                    queryHeads: heads,
                    kvHeads: kvHeads ?? heads,
                    queryLength: length,
                    keyLength: length,
                    headDim: headDim
                ),
                causal: causal,
                window: window,
                storage: storage
            )
        )
    }

    /// Floating-point operations of one prefill run: 4·B·Hq·Nq·Nk·D, halved when causal, and
    /// counted over visible (query, key) pairs only with a window. Zero for decode.
    var flops: Double {
        guard case let .prefill(shape, causal, window, _) = workload else { return 0 }
        let perPair = 4 * Double(shape.batch * shape.queryHeads * shape.headDim)
        guard window.isUnbounded else {
            return perPair
                * Double(
                    Self.visiblePairs(
                        queries: shape.queryLength,
                        keys: shape.keyLength,
                        causal: causal,
                        window: window
                    )
                )
        }
        return perPair * Double(shape.queryLength) * Double(shape.keyLength) / (causal ? 2 : 1)
    }

    /// Bytes of K and V one decode step reads (int8 includes its per-row scales). Zero for prefill.
    var bytesRead: Double {
        guard case let .decode(batch, _, kvHeads, headDim, tokens, _, storage) = workload else { return 0 }
        let rows = Double(batch * tokens * kvHeads)
        let scaleBytes = storage == .int8 ? Double(MemoryLayout<Float>.size) : 0
        return 2 * rows * (Double(headDim * storage.bytesPerElement) + scaleBytes)
    }

    /// Tokens one run decodes: one per sequence. Zero for prefill.
    var decodedTokens: Int {
        guard case let .decode(batch, _, _, _, _, _, _) = workload else { return 0 }
        return batch
    }

    /// Number of (query, key) pairs visible under `causal` and `window`, bottom-right aligned.
    static func visiblePairs(queries: Int, keys: Int, causal: Bool, window: AttentionWindow) -> Int {
        var total = 0
        for i in 0..<queries {
            let p = i + keys - queries
            var last = keys - 1
            if causal { last = min(last, p) }
            if window.right >= 0 { last = min(last, p + window.right) }
            let first = window.left >= 0 ? max(0, p - window.left) : 0
            total += max(0, last - first + 1)
        }
        return total
    }

    /// Builds the case's random inputs; the returned closure runs the kernel once.
    func prepare(threads: Int, seed: UInt64) throws(KernelError) -> @Sendable () throws(KernelError) -> Void {
        var generator = SplitMix64(seed: seed)
        switch workload {
        case let .prefill(shape, causal, window, storage):
            let q = generator.floats(shape.batch * shape.queryHeads * shape.queryLength * shape.headDim)
            let kvCount = shape.batch * shape.kvHeads * shape.keyLength * shape.headDim
            let k = try KVTensor(generator.floats(kvCount), rowLength: shape.headDim, storage: storage)
            let v = try KVTensor(generator.floats(kvCount), rowLength: shape.headDim, storage: storage)
            let options = AttentionOptions(causal: causal, window: window, threads: threads)
            return { () throws(KernelError) in
                _ = try FlashAttention.dense(q: q, k: k, v: v, shape: shape, options: options)
            }
        case let .decode(batch, queryHeads, kvHeads, headDim, tokens, pageSize, storage):
            let pagesPerSequence = (tokens + pageSize - 1) / pageSize
            var pool = try KVPagePool(
                pageCount: batch * pagesPerSequence,
                pageSize: pageSize,
                kvHeads: kvHeads,
                headDim: headDim,
                storage: storage
            )
            let width = kvHeads * headDim
            for page in 0..<pool.pageCount {
                for slot in 0..<pageSize {
                    try pool.write(
                        page: page,
                        slot: slot,
                        keys: generator.floats(width),
                        values: generator.floats(width)
                    )
                }
            }
            let pages = Array(0..<pool.pageCount).shuffled(using: &generator)
            let tables = (0..<batch).map { Array(pages[$0 * pagesPerSequence..<($0 + 1) * pagesPerSequence]) }
            let lengths = [Int](repeating: tokens, count: batch)
            let q = generator.floats(batch * queryHeads * headDim)
            let options = AttentionOptions(threads: threads)
            return { [pool] () throws(KernelError) in
                _ = try PagedAttention.run(
                    q: q,
                    queryLength: 1,
                    queryHeads: queryHeads,
                    pool: pool,
                    blockTables: tables,
                    kvLengths: lengths,
                    options: options
                )
            }
        }
    }
}

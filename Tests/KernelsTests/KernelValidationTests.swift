import Kernels
import Testing

extension KernelError {
    /// The case of this error without its payload, so that tests can name the expected case.
    enum Kind: Equatable {
        case shapeMismatch, invalidDimension, headRatio, invalidScale, invalidWindow, invalidSoftcap
        case invalidAlibi, invalidBlockSparseMask, invalidOffsets, pageOutOfRange, kvLengthExceedsBlockTable
        case kvLengthTooShort, storageMismatch, invalidThreadCount, mergeMismatch
    }

    var kind: Kind {
        switch self {
        case .shapeMismatch: .shapeMismatch
        case .invalidDimension: .invalidDimension
        case .headRatio: .headRatio
        case .invalidScale: .invalidScale
        case .invalidWindow: .invalidWindow
        case .invalidSoftcap: .invalidSoftcap
        case .invalidAlibi: .invalidAlibi
        case .invalidBlockSparseMask: .invalidBlockSparseMask
        case .invalidOffsets: .invalidOffsets
        case .pageOutOfRange: .pageOutOfRange
        case .kvLengthExceedsBlockTable: .kvLengthExceedsBlockTable
        case .kvLengthTooShort: .kvLengthTooShort
        case .storageMismatch: .storageMismatch
        case .invalidThreadCount: .invalidThreadCount
        case .mergeMismatch: .mergeMismatch
        }
    }
}

/// Every bad argument throws the matching `KernelError` with a readable description, never traps.
@Suite struct KernelValidationTests {
    static let d = 16
    static let shape = DenseAttentionShape(
        batch: 1,
        queryHeads: 2,
        kvHeads: 1,
        queryLength: 3,
        keyLength: 5,
        headDim: d
    )
    static let q = [Float](repeating: 0.5, count: 2 * 3 * d)
    static let kv = KVTensor(zeros: 5, rowLength: d, storage: .f16)

    /// Runs `body`, expecting a `KernelError` of kind `expected` with a non-empty description.
    func expectError(
        _ expected: KernelError.Kind,
        sourceLocation: SourceLocation = #_sourceLocation,
        _ body: () throws -> Void
    ) {
        let error = #expect(throws: KernelError.self, sourceLocation: sourceLocation) { try body() }
        #expect(error?.kind == expected, "got \(String(describing: error))", sourceLocation: sourceLocation)
        #expect(error.map { !$0.description.isEmpty } ?? true, sourceLocation: sourceLocation)
    }

    func dense(
        q: [Float] = q,
        k: KVTensor = kv,
        v: KVTensor = kv,
        shape: DenseAttentionShape = shape,
        _ options: AttentionOptions = AttentionOptions()
    ) throws {
        _ = try FlashAttention.dense(q: q, k: k, v: v, shape: shape, options: options)
    }

    @Test func validCallSucceeds() throws {
        let result = try FlashAttention.dense(q: Self.q, k: Self.kv, v: Self.kv, shape: Self.shape)
        #expect(result.output.count == 2 * 3 * Self.d && result.logSumExp.count == 6)
    }

    @Test func elementCounts() throws {
        expectError(.shapeMismatch) { try dense(q: Array(Self.q.dropLast())) }
        let shortKV = try KVTensor([Float](repeating: 0, count: 4 * Self.d), rowLength: Self.d, storage: .f16)
        expectError(.shapeMismatch) { try dense(k: shortKV) }
        expectError(.shapeMismatch) { try dense(v: shortKV) }
    }

    @Test func dimensions() {
        var shape = Self.shape
        shape.headDim = 0
        expectError(.invalidDimension) { try dense(q: [], shape: shape) }
        shape = Self.shape
        shape.queryLength = -1
        expectError(.invalidDimension) { try dense(shape: shape) }
        shape = Self.shape
        shape.queryHeads = 3
        shape.kvHeads = 2
        expectError(.headRatio) { try dense(shape: shape) }
    }

    @Test func overflowingDimensionsThrow() {
        let shape = DenseAttentionShape(
            batch: Int.max / 2,
            queryHeads: 4,
            kvHeads: 1,
            queryLength: Int.max / 4,
            keyLength: 5,
            headDim: Self.d
        )
        let error = #expect(throws: KernelError.self) { try dense(shape: shape) }
        #expect(error?.kind == .shapeMismatch || error?.kind == .invalidDimension)
        let pagedError = #expect(throws: KernelError.self) {
            let pool = try KVPagePool(pageCount: 1, pageSize: 16, kvHeads: 1, headDim: Self.d, storage: .f32)
            _ = try PagedAttention.run(
                q: [0],
                queryLength: Int.max / 2,
                queryHeads: 4,
                pool: pool,
                blockTables: [[0]],
                kvLengths: [3]
            )
        }
        #expect(pagedError != nil)
    }

    @Test func scaleSoftcapWindowThreads() {
        for scale in [Float.nan, .infinity, 0, -1] {
            expectError(.invalidScale) { try dense(AttentionOptions(scale: scale)) }
        }
        expectError(.invalidWindow) { try dense(AttentionOptions(window: AttentionWindow(left: -2, right: 0))) }
        expectError(.invalidWindow) { try dense(AttentionOptions(window: AttentionWindow(left: 3, right: -5))) }
        for cap in [Float.nan, 0, -2, .infinity] {
            expectError(.invalidSoftcap) { try dense(AttentionOptions(softcap: cap)) }
        }
        expectError(.invalidThreadCount) { try dense(AttentionOptions(threads: 0)) }
        expectError(.invalidThreadCount) { try dense(AttentionOptions(threads: -3)) }
    }

    @Test func alibi() {
        expectError(.invalidAlibi) { try dense(AttentionOptions(alibiSlopes: [0.1])) }
        expectError(.invalidAlibi) { try dense(AttentionOptions(alibiSlopes: [0.1, 0.2, 0.3])) }
        expectError(.invalidAlibi) { try dense(AttentionOptions(alibiSlopes: [0.1, .nan])) }
    }

    @Test func blockSparseMask() {
        // 5 keys and queries at positions 2...4 need a 1 × 1 grid.
        let empty = BlockSparseMask(queryTiles: 0, keyTiles: 0, allowed: [])
        expectError(.invalidBlockSparseMask) { try dense(AttentionOptions(blockSparse: empty)) }
        let wrongCount = BlockSparseMask(queryTiles: 1, keyTiles: 1, allowed: [true, true])
        expectError(.invalidBlockSparseMask) { try dense(AttentionOptions(blockSparse: wrongCount)) }
        var shape = Self.shape
        shape.keyLength = 65
        shape.queryLength = 3
        let k = KVTensor(zeros: 65, rowLength: Self.d, storage: .f16)
        let tooFewKeyTiles = BlockSparseMask(queryTiles: 2, keyTiles: 1, allowed: [true, true])
        expectError(.invalidBlockSparseMask) {
            try dense(k: k, v: k, shape: shape, AttentionOptions(blockSparse: tooFewKeyTiles))
        }
        let tooFewQueryTiles = BlockSparseMask(queryTiles: 1, keyTiles: 2, allowed: [true, true])
        expectError(.invalidBlockSparseMask) {
            try dense(k: k, v: k, shape: shape, AttentionOptions(blockSparse: tooFewQueryTiles))
        }
    }

    @Test func storage() throws {
        let f32 = try KVTensor([Float](repeating: 0, count: 5 * Self.d), rowLength: Self.d, storage: .f32)
        expectError(.storageMismatch) { try dense(v: f32) }
        let wideRows = try KVTensor([Float](repeating: 0, count: 5 * Self.d), rowLength: Self.d * 5, storage: .f16)
        let error = #expect(throws: KernelError.self) { try dense(k: wideRows, v: wideRows) }
        #expect(error?.kind == .storageMismatch || error?.kind == .shapeMismatch)
    }

    @Test func varlenOffsets() throws {
        let d = Self.d
        let k = try KVTensor([Float](repeating: 0, count: 6 * d), rowLength: d, storage: .f32)
        let q = [Float](repeating: 0, count: 4 * d)
        func run(_ queryOffsets: [Int], _ keyOffsets: [Int]) throws {
            _ = try FlashAttention.varlen(
                q: q,
                k: k,
                v: k,
                queryOffsets: queryOffsets,
                keyOffsets: keyOffsets,
                queryHeads: 1,
                kvHeads: 1,
                headDim: d
            )
        }
        try run([0, 1, 4], [0, 2, 6])
        expectError(.invalidOffsets) { try run([1, 4], [0, 6]) }
        expectError(.invalidOffsets) { try run([0, 3, 2, 4], [0, 2, 4, 6]) }
        // Offsets that end before the tensors do: either the offsets or the tensor is wrong.
        for (queryOffsets, keyOffsets) in [([0, 1, 3], [0, 2, 6]), ([0, 1, 4], [0, 2, 5])] {
            let error = #expect(throws: KernelError.self) { try run(queryOffsets, keyOffsets) }
            #expect(error?.kind == .invalidOffsets || error?.kind == .shapeMismatch, "got \(String(describing: error))")
        }
        expectError(.invalidOffsets) { try run([0, 4], [0, 2, 6]) }
        expectError(.invalidOffsets) { try run([], []) }
    }

    @Test func paged() throws {
        let d = Self.d
        let pool = try KVPagePool(pageCount: 4, pageSize: 7, kvHeads: 1, headDim: d, storage: .int8)
        func run(
            _ tables: [[Int]],
            _ lengths: [Int],
            queryLength: Int = 2,
            q: [Float]? = nil,
            causal: Bool = false
        ) throws {
            _ = try PagedAttention.run(
                q: q ?? [Float](repeating: 0, count: lengths.count * queryLength * 2 * d),
                queryLength: queryLength,
                queryHeads: 2,
                pool: pool,
                blockTables: tables,
                kvLengths: lengths,
                options: AttentionOptions(causal: causal)
            )
        }
        try run([[3, 1], [0]], [10, 7])
        expectError(.pageOutOfRange) { try run([[3, 4], [0]], [10, 7]) }
        expectError(.pageOutOfRange) { try run([[3, 1], [-1]], [10, 7]) }
        expectError(.kvLengthExceedsBlockTable) { try run([[3, 1], [0]], [15, 7]) }
        expectError(.kvLengthTooShort) { try run([[3, 1], [0]], [10, 1], causal: true) }
        // Without the causal mask a sequence may hold fewer keys than it has queries, even none.
        try run([[3, 1], [0]], [10, 1])
        try run([[3, 1], [0]], [10, 0])
        expectError(.invalidDimension) { try run([[3, 1], [0]], [10, -1]) }
        expectError(.shapeMismatch) { try run([[3, 1], [0]], [10, 7], q: [0, 1]) }
        let countError = #expect(throws: KernelError.self) { try run([[3, 1]], [10, 7]) }
        #expect(countError != nil)
        expectError(.invalidThreadCount) {
            _ = try PagedAttention.run(
                q: [Float](repeating: 0, count: 2 * d),
                queryLength: 1,
                queryHeads: 2,
                pool: pool,
                blockTables: [[0]],
                kvLengths: [3],
                options: AttentionOptions(threads: 0)
            )
        }
        expectError(.headRatio) {
            _ = try PagedAttention.run(
                q: [Float](repeating: 0, count: 3 * d),
                queryLength: 1,
                queryHeads: 3,
                pool: try KVPagePool(
                    pageCount: 1,
                    pageSize: 7,
                    kvHeads: 2,
                    headDim: d,
                    storage: .f16
                ),
                blockTables: [[0]],
                kvLengths: [3]
            )
        }
    }

    @Test func merge() {
        let a = AttentionResult(output: [1, 2, 3, 4], logSumExp: [0, 0])
        expectError(.mergeMismatch) { _ = try AttentionMerge.merge([], headDim: 2) }
        expectError(.mergeMismatch) {
            _ = try AttentionMerge.merge([a, AttentionResult(output: [1, 2], logSumExp: [0])], headDim: 2)
        }
        expectError(.mergeMismatch) { _ = try AttentionMerge.merge([a, a], headDim: 3) }
        expectError(.mergeMismatch) {
            _ = try AttentionMerge.merge([a, AttentionResult(output: [1, 2, 3, 4], logSumExp: [0])], headDim: 2)
        }
    }
}

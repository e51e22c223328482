/// One layer's page pool: `pageCount` pages of `pageSize` tokens × `kvHeads` heads × `headDim`
/// elements, for K and for V, laid out `[P, pageSize, Hkv, D]` (vLLM's block layout).
///
/// A page id indexes the same slot in every layer's pool. Tokens are written one at a time and
/// quantised on write when the storage is int8 (one scale per token and head).
public struct KVPagePool: Sendable, Hashable {
    /// Pages in the pool.
    public let pageCount: Int
    /// Tokens per page.
    public let pageSize: Int
    /// KV heads per token.
    public let kvHeads: Int
    /// Elements per head.
    public let headDim: Int
    /// Keys, `[P, pageSize, Hkv, D]`.
    public var keys: KVTensor
    /// Values, `[P, pageSize, Hkv, D]`.
    public var values: KVTensor

    /// Storage type of keys and values.
    public var storage: KVStorageType { keys.storage }

    /// A zero-filled pool.
    public init(pageCount: Int, pageSize: Int, kvHeads: Int, headDim: Int, storage: KVStorageType) throws(KernelError) {
        for (name, value) in [
            ("pageCount", pageCount), ("pageSize", pageSize), ("kvHeads", kvHeads), ("headDim", headDim),
        ]
        where value <= 0 {
            throw .invalidDimension(name: name, value: value)
        }
        self.pageCount = pageCount
        self.pageSize = pageSize
        self.kvHeads = kvHeads
        self.headDim = headDim
        let rows = pageCount * pageSize * kvHeads
        keys = KVTensor(zeros: rows, rowLength: headDim, storage: storage)
        values = KVTensor(zeros: rows, rowLength: headDim, storage: storage)
    }

    /// Writes one token's K and V (`kvHeads * headDim` floats each, `[Hkv, D]`) into `slot` of `page`.
    public mutating func write(page: Int, slot: Int, keys k: [Float], values v: [Float]) throws(KernelError) {
        guard page >= 0, page < pageCount else {
            throw .pageOutOfRange(sequence: -1, page: page, poolPages: pageCount)
        }
        guard slot >= 0, slot < pageSize else { throw .invalidDimension(name: "slot", value: slot) }
        let width = kvHeads * headDim
        guard k.count == width else { throw .shapeMismatch(tensor: "keys", expected: width, actual: k.count) }
        guard v.count == width else { throw .shapeMismatch(tensor: "values", expected: width, actual: v.count) }
        let firstRow = (page * pageSize + slot) * kvHeads
        k.withUnsafeBufferPointer { source in
            for head in 0..<kvHeads {
                let start = head * headDim
                keys.setRow(firstRow + head, from: UnsafeBufferPointer(rebasing: source[start..<start + headDim]))
            }
        }
        v.withUnsafeBufferPointer { source in
            for head in 0..<kvHeads {
                let start = head * headDim
                values.setRow(firstRow + head, from: UnsafeBufferPointer(rebasing: source[start..<start + headDim]))
            }
        }
    }
}

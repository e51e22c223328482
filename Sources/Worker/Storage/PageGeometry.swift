import Kernels

/// The shape of one page: how many layers, KV heads, elements per head and tokens it holds, and
/// the storage type of its elements. Every page of a worker has the same geometry.
public struct PageGeometry: Sendable, Hashable, CustomStringConvertible {
    /// Model layers; a page holds K and V for every layer.
    public let layers: Int
    /// KV heads per token.
    public let kvHeads: Int
    /// Elements per head.
    public let headDim: Int
    /// Tokens per page.
    public let pageSize: Int
    /// How K and V elements are stored.
    public let storage: KVStorageType
    /// Bytes of one page in the canonical layout: `layers × 2 × pageSize × kvHeads × headDim`
    /// elements, plus for int8 one `Float` scale per (layer, K/V, token, head).
    public let bytesPerPage: Int

    /// Validates every dimension (positive, and a page's byte count must fit in `Int`).
    public init(layers: Int, kvHeads: Int, headDim: Int, pageSize: Int, storage: KVStorageType) throws(StorageError) {
        for (name, value) in [("layers", layers), ("kvHeads", kvHeads), ("headDim", headDim), ("pageSize", pageSize)]
        where value <= 0 {
            throw .invalidGeometry("\(name) must be positive, got \(value)")
        }
        var rows = layers
        for factor in [2, pageSize, kvHeads] {
            let (product, overflow) = rows.multipliedReportingOverflow(by: factor)
            guard !overflow else { throw .invalidGeometry("a page's row count overflows") }
            rows = product
        }
        let (elements, elementOverflow) = rows.multipliedReportingOverflow(by: headDim)
        let (elementBytes, bytesOverflow) = elements.multipliedReportingOverflow(by: storage.bytesPerElement)
        let scaleBytes = storage == .int8 ? rows.multipliedReportingOverflow(by: 4) : (0, false)
        let (total, totalOverflow) = elementBytes.addingReportingOverflow(scaleBytes.0)
        guard !elementOverflow, !bytesOverflow, !scaleBytes.1, !totalOverflow else {
            throw .invalidGeometry("a page's byte count overflows")
        }
        self.layers = layers
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.pageSize = pageSize
        self.storage = storage
        self.bytesPerPage = total
    }

    /// Elements of one token in one layer for K (or V): `kvHeads × headDim`.
    public var tokenWidth: Int { kvHeads * headDim }

    /// How many whole pages a memory budget of `bytes` holds; throws `.budgetTooSmall` below one page.
    public func pageCount(memoryBudget bytes: Int) throws(StorageError) -> Int {
        let count = bytes / bytesPerPage
        guard count > 0 else { throw .budgetTooSmall(budget: bytes, bytesPerPage: bytesPerPage) }
        return count
    }

    /// Pages needed to hold `tokens` tokens.
    public func pagesNeeded(forTokens tokens: Int) -> Int {
        (tokens + pageSize - 1) / pageSize
    }

    /// The geometry in words, for logs and errors.
    public var description: String {
        "\(layers) layers × \(kvHeads) KV heads × \(headDim) dims, \(pageSize) tokens a page, \(storage)"
    }
}

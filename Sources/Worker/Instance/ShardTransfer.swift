import CacheProtocol

/// What an adoption has received of a shard so far: the source's block-table state from its first
/// answer and the pages of every answer, decoded and checked, in block-table order.
struct ShardTransfer: Sendable, Equatable {
    /// Pages of the source's block table.
    var totalPages: Int
    /// Tokens each layer holds, from the shard start.
    var layerLengths: [Int]
    /// Prefix keys of the shard's full prompt pages.
    var keys: [PrefixKey]
    /// Tokens of the prompt the sequence was opened with.
    var promptTokens: Int
    /// The pages received, in the canonical layout.
    var pages: [[UInt8]] = []
    /// Encoded bytes received.
    var bytes: UInt64 = 0

    /// Whether every page has come.
    var isComplete: Bool { pages.count == totalPages }
}

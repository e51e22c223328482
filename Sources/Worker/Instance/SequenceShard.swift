import CacheProtocol

/// The part of a prompt that a sequence open on this worker holds.
struct SequenceShard: Sendable, Equatable {
    /// Token position where the shard starts (a multiple of the page size).
    var start: Int
    /// Keys of the shard's full prompt pages, in order.
    var keys: [PrefixKey]
    /// The sequence's tenant namespace.
    var namespace: String
    /// Tokens of the prompt it was opened with, from position 0.
    var promptTokens: Int
    /// Where it ends when the coordinator sealed it (`SealShard`: the sequence goes on as another
    /// shard on another worker); it then takes no new tokens until a truncation.
    var sealedAt: Int? = nil
}

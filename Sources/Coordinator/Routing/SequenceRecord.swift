/// A sequence in the coordinator's table: its shards in token order and what the coordinator
/// knows of its length.
///
/// A sequence may span several workers (a spill continues it on another worker as a new shard
/// that starts at the current length; a prefix left on its holder becomes the first shard), so
/// shards are a list; at most one shard per worker, because a worker keys a shard by the
/// sequence's id.
struct SequenceRecord: Sendable, Hashable {
    /// Whether the sequence can take requests yet.
    enum Phase: Sendable, Hashable {
        /// Placed, its `OpenSequence` not yet answered: the client does not know its id.
        case opening
        /// Open.
        case open
    }

    /// The coordinator's id for it.
    let id: UInt64
    /// Its tenant namespace.
    let namespace: String
    /// Opening or open.
    var phase: Phase
    /// Tokens of its prompt.
    var promptTokens: Int
    /// Tokens of KV layer 0 holds, as the coordinator last saw it (opened with the cached tokens,
    /// grown by layer-0 prefills and decodes, cut by truncations).
    var length: Int
    /// Shards by ascending start; the last is the tail. Never empty.
    var shards: [Shard]

    /// The shard that takes new tokens.
    var tail: Shard { shards[shards.count - 1] }

    /// Where shard `index` ends: the next shard's start, or for the tail the larger of the length
    /// and the prompt (a placed prompt is expected to be prefilled).
    func end(ofShard index: Int) -> Int {
        index + 1 < shards.count ? shards[index + 1].start : max(length, promptTokens, shards[index].start)
    }

    /// Pages shard `index` takes: its tokens rounded up to whole pages.
    func pages(ofShard index: Int, pageSize: Int) -> Int {
        let tokens = end(ofShard: index) - shards[index].start
        return (tokens + pageSize - 1) / pageSize
    }

    /// Whether worker `worker` holds a shard of it.
    func hasShard(on worker: WorkerID) -> Bool { shards.contains { $0.worker == worker } }
}

import CacheProtocol

/// The spill of a decode batch whose tail parts were refused `capacity`: the new shards being
/// opened, and what is re-sent once they are.
struct DecodeSpill: Sendable {
    /// The parts refused `capacity` that the spill re-sends, by index into the batch's parts.
    var refusedParts: [Int]
    /// One open per sequence that continues on a new shard, in the order they were chosen.
    var opens: [SpillOpen]
    /// Whether the opens are still awaited. While they are, the operation's requests are the
    /// opens (part `i` is `opens[i]`); after, they are the batch's parts again.
    var awaitingOpens = true

    /// Whether every open has an answer.
    var opensSettled: Bool { opens.allSatisfy { $0.state != .awaited } }
}

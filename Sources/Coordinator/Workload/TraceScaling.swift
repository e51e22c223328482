import Kernels

/// Turns trace records into requests a small cluster can replay: each hash id becomes
/// `blockTokens` token ids derived from the id alone (so equal ids give equal tokens in every
/// request, and prefix sharing survives exactly), the last block of a prompt is cut in proportion
/// to how full it was, output lengths scale by `blockTokens / 512`, and time is divided by
/// `speedup` (0: no pacing).
public struct TraceScaling: Sendable, Hashable {
    /// Token ids per trace block after scaling.
    public var blockTokens: Int
    /// How much faster than the trace requests arrive; 0 replays as fast as possible.
    public var speedup: Double

    /// A scaling with `blockTokens` tokens per block, `speedup` times faster than the trace.
    public init(blockTokens: Int, speedup: Double) {
        self.blockTokens = max(1, blockTokens)
        self.speedup = speedup
    }

    /// `record` scaled.
    public func scale(_ record: TraceRecord, namespace: String = "trace") -> WorkloadRequest {
        let full = TraceRecord.traceBlockTokens
        var tokens: [UInt32] = []
        tokens.reserveCapacity(record.hashIDs.count * blockTokens)
        for (index, id) in record.hashIDs.enumerated() {
            var count = blockTokens
            if index == record.hashIDs.count - 1 {
                let used = record.inputLength - full * index
                count = max(1, min(blockTokens, (used * blockTokens + full / 2) / full))
            }
            tokens.append(contentsOf: Self.blockTokenIDs(id, count: count))
        }
        let output = max(1, (record.outputLength * blockTokens + full / 2) / full)
        let arrival: Duration =
            speedup > 0 ? .nanoseconds(Int64(record.timestampMilliseconds * 1_000_000 / speedup)) : .zero
        return WorkloadRequest(arrival: arrival, namespace: namespace, tokens: tokens, outputTokens: output)
    }

    /// The first `count` token ids of the block with trace id `id`: the same for every request.
    /// Ids stay below 2³¹ (any vocabulary-sized model spec sees plausible ids).
    static func blockTokenIDs(_ id: UInt64, count: Int) -> [UInt32] {
        var generator = SplitMix64(seed: id ^ 0x6D6F_6F6E_6361_6B65)
        return (0..<count).map { _ in UInt32(truncatingIfNeeded: generator.next() >> 33) }
    }
}

/// What the shards workers reported of one sequence make of it.
enum RecoveredSequence: Sendable, Hashable {
    /// The shards join from token 0 without a gap. `complete` when the last shard reported is not
    /// sealed: the coordinator seals a shard (`SealShard`) when the sequence goes on past it on
    /// another worker, so a sealed last shard means a later one exists on a worker that has not
    /// reported (yet, or at all).
    case joined(SequenceRecord, complete: Bool)
    /// The shards do not make a sequence, for this reason.
    case broken(String)

    /// Joins the shards reported of sequence `id`.
    ///
    /// They join when one starts at token 0, their starts differ, they share a namespace, and each
    /// but the last ends (in layer 0 and in every layer) where the next starts. The last is the
    /// tail; the sequence's length is its layer-0 end.
    static func join(_ reported: [ReportedShard], id: UInt64) -> RecoveredSequence {
        let shards = reported.sorted { ($0.start, $0.worker) < ($1.start, $1.worker) }
        guard let first = shards.first, let tail = shards.last else { return .broken("no shard was reported") }
        guard first.start == 0 else {
            return .broken("no shard starts at token 0 (the first starts at \(first.start) on worker \(first.worker))")
        }
        for (earlier, later) in zip(shards, shards.dropFirst()) {
            guard later.shard.namespace == first.shard.namespace else {
                return .broken("workers \(first.worker) and \(later.worker) hold it in different namespaces")
            }
            guard earlier.start < later.start else {
                return .broken(
                    "workers \(earlier.worker) and \(later.worker) both hold a shard starting at \(later.start)"
                )
            }
            guard earlier.end == later.start, earlier.shard.everyLayerTokens == earlier.shard.layerZeroTokens else {
                return .broken(
                    "worker \(earlier.worker)'s shard ends at \(earlier.end) (\(earlier.start + Int(earlier.shard.everyLayerTokens)) in every layer), worker \(later.worker)'s starts at \(later.start)"
                )
            }
        }
        let record = SequenceRecord(
            id: id,
            namespace: first.shard.namespace,
            phase: .open,
            promptTokens: Int(first.shard.promptTokens),
            length: tail.end,
            shards: shards.map { Shard(worker: $0.worker, slot: $0.slot, start: $0.start) }
        )
        return .joined(record, complete: !tail.shard.sealed)
    }
}

import CacheProtocol

/// A client's decode batch split by worker, as the protocol asks: the worker holding a sequence's
/// tail gets its entry with k and v (it appends them); holders of earlier shards get the same
/// queries without k and v. All the entries a worker gets in one role travel in one request, in
/// the client's order, whatever their query tokens. A worker that holds the tail of one sequence
/// and an earlier shard of another in the same batch gets two requests, because a request's
/// k and v are for all of its rows or none.
struct DecodeSplit: Sendable {
    /// One worker's request.
    struct Part: Sendable, Hashable {
        /// The worker.
        var worker: WorkerID
        /// Whether it appends k and v (it holds the tails of its entries' sequences).
        var appends: Bool
        /// The request.
        var decode: Decode
    }

    /// The requests, in order of first appearance in the batch.
    var parts: [Part]
    /// How to put their answers back together.
    var plan: DecodeMergePlan

    /// Splits `decode`, whose entry `i` belongs to a sequence with shards `shards[i]` (token
    /// order, tail last, never empty). Throws when a tensor cannot be sliced.
    static func split(_ decode: Decode, shards: [[Shard]]) throws(WireError) -> DecodeSplit {
        struct Building {
            var worker: WorkerID
            var appends: Bool
            var entries: [Decode.Entry] = []
            var ranges: [Range<Int>] = []
            var rows = 0
        }
        struct PartKey: Hashable {
            var worker: WorkerID
            var appends: Bool
        }
        let hasKV = decode.input.k != nil
        var building: [Building] = []
        var partOf: [PartKey: Int] = [:]
        var entries: [DecodeMergePlan.Entry] = []
        entries.reserveCapacity(decode.entries.count)
        var row = 0
        for (index, entry) in decode.entries.enumerated() {
            let rows = Int(entry.queryTokens)
            var sources: [DecodeMergePlan.Source] = []
            let entryShards = shards[index]
            for (shardIndex, shard) in entryShards.enumerated() {
                let key = PartKey(worker: shard.worker, appends: hasKV && shardIndex == entryShards.count - 1)
                let part: Int
                if let existing = partOf[key] {
                    part = existing
                } else {
                    part = building.count
                    partOf[key] = part
                    building.append(Building(worker: key.worker, appends: key.appends))
                }
                sources.append(DecodeMergePlan.Source(part: part, firstRow: building[part].rows))
                building[part].entries.append(entry)
                building[part].ranges.append(row..<(row + rows))
                building[part].rows += rows
            }
            entries.append(DecodeMergePlan.Entry(rows: rows, sources: sources))
            row += rows
        }
        var parts: [Part] = []
        parts.reserveCapacity(building.count)
        for part in building {
            let input: AttentionInput
            if part.appends, let k = decode.input.k, let v = decode.input.v {
                input = try AttentionInput(
                    q: try TensorRows.gather(decode.input.q, rows: part.ranges),
                    k: try TensorRows.gather(k, rows: part.ranges),
                    v: try TensorRows.gather(v, rows: part.ranges)
                )
            } else {
                input = try AttentionInput(q: try TensorRows.gather(decode.input.q, rows: part.ranges), k: nil, v: nil)
            }
            parts.append(
                Part(
                    worker: part.worker,
                    appends: part.appends,
                    decode: try Decode(layer: decode.layer, entries: part.entries, input: input)
                )
            )
        }
        return DecodeSplit(
            parts: parts,
            plan: DecodeMergePlan(layer: decode.layer, entries: entries, partRows: building.map(\.rows))
        )
    }
}

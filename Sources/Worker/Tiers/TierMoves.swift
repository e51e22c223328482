/// Bytes and time spent moving pages between the hot pool and the lower tiers, per direction
/// (`hot`, `compressed`, `disk`, `remote`): the work of the move itself (encoding, compression,
/// file writes with their fsyncs, remote requests, reads and checksum-verified decoding), timed
/// inside the worker. Reported in `StatsReply` as `tier_move_<from>_<to>_bytes` and `…_ns`, from
/// which `bench worker` derives each direction's GB/s.
struct TierMoves: Sendable {
    private var totals: [String: (bytes: Int, nanoseconds: Int)] = [:]

    /// No moves yet.
    init() {}

    /// Adds one move of `bytes` (encoded page bytes) from `source` to `target` that took `duration`.
    mutating func record(from source: String, to target: String, bytes: Int, duration: Duration) {
        let name = "\(source)_\(target)"
        let (seconds, attoseconds) = duration.components
        let nanoseconds = Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)
        let old = totals[name] ?? (0, 0)
        totals[name] = (old.bytes + bytes, old.nanoseconds + nanoseconds)
    }

    /// The totals as `tier_move_<from>_<to>_bytes` and `tier_move_<from>_<to>_ns` counters, by name.
    var counters: [(name: String, value: UInt64)] {
        totals.sorted { $0.key < $1.key }.flatMap { name, total in
            [
                ("tier_move_\(name)_bytes", UInt64(total.bytes)),
                ("tier_move_\(name)_ns", UInt64(max(0, total.nanoseconds))),
            ]
        }
    }
}

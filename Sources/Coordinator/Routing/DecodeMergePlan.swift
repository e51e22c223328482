/// How a client's decode batch was split into worker parts, and so how to put the parts' answers
/// back together: for every client entry, in the client's order, where its rows are in each part
/// that computed them (one part per shard of its sequence).
public struct DecodeMergePlan: Sendable, Hashable {
    /// Where one part computed an entry's rows.
    public struct Source: Sendable, Hashable {
        /// The part (index into the parts, and into the answers handed to the merge).
        public var part: Int
        /// The first of the entry's rows in that part's answer.
        public var firstRow: Int
    }

    /// One client entry.
    public struct Entry: Sendable, Hashable {
        /// Its query rows.
        public var rows: Int
        /// One source per shard of its sequence, in shard order.
        public var sources: [Source]
    }

    /// The layer of the batch.
    public var layer: UInt32
    /// The client's entries, in its order.
    public var entries: [Entry]
    /// Rows of each part, in part order.
    public var partRows: [Int]

    /// Rows of the whole batch.
    public var rows: Int { entries.reduce(0) { $0 + $1.rows } }

    /// Whether the single part's answer already is the client's answer: one part, and every
    /// entry's rows in it, in order (every sequence has one shard on that worker).
    public var isPassThrough: Bool {
        partRows.count == 1 && entries.allSatisfy { $0.sources.count == 1 }
    }
}

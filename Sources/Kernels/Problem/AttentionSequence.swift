/// Where one independent attention problem (a dense batch entry, a varlen sequence or a paged
/// sequence) keeps its query rows, output rows, log-sum-exp entries and keys inside a call's
/// buffers. Query `i` sits at aligned key position `i + keyCount - queryCount`.
struct AttentionSequence: Sendable {
    /// Query tokens.
    var queryCount: Int
    /// Key tokens.
    var keyCount: Int
    /// Element offset of token 0, head 0 in q and in the output.
    var queryBase: Int
    /// Elements between consecutive query tokens.
    var queryTokenStride: Int
    /// Elements between consecutive query heads.
    var queryHeadStride: Int
    /// Offset of token 0, head 0 in the log-sum-exp array.
    var lseBase: Int
    /// Entries between consecutive tokens in the log-sum-exp array.
    var lseTokenStride: Int
    /// Entries between consecutive heads in the log-sum-exp array.
    var lseHeadStride: Int
    /// How key tokens map to K/V rows.
    var keyRows: KeyRowMap
}

/// How key token `j` of KV head `h` maps to a row of the K and V tensors.
enum KeyRowMap: Sendable {
    /// Row `base + h * headStride + j * tokenStride` (dense and varlen layouts).
    case strided(base: Int, headStride: Int, tokenStride: Int)
    /// Row `(table[tableStart + j / pageSize] * pageSize + j % pageSize) * kvHeads + h` (a page pool).
    case paged(tableStart: Int, pageSize: Int, kvHeads: Int)

    /// The K/V row of key `token` of KV head `head`; `pageTable` is the call's flattened block tables.
    @inline(__always)
    func row(head: Int, token: Int, pageTable: UnsafePointer<Int>) -> Int {
        switch self {
        case let .strided(base, headStride, tokenStride):
            return base + head * headStride + token * tokenStride
        case let .paged(tableStart, pageSize, kvHeads):
            let page = pageTable[tableStart + token / pageSize]
            return (page * pageSize + token % pageSize) * kvHeads + head
        }
    }

    /// The run of keys starting at `token` whose rows are evenly spaced: the first row, the step
    /// between rows, and how many keys the run holds (the rest of the page when paged).
    @inline(__always)
    func run(head: Int, token: Int, pageTable: UnsafePointer<Int>) -> (row: Int, step: Int, count: Int) {
        switch self {
        case let .strided(base, headStride, tokenStride):
            return (base + head * headStride + token * tokenStride, tokenStride, Int.max)
        case let .paged(tableStart, pageSize, kvHeads):
            let slot = token % pageSize
            let page = pageTable[tableStart + token / pageSize]
            return ((page * pageSize + slot) * kvHeads + head, kvHeads, pageSize - slot)
        }
    }
}

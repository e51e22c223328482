/// The raw buffers of one kernel call, shared read-only (inputs) or row-disjointly (outputs) by its
/// worker threads: every output row and log-sum-exp entry is written by exactly one work item.
struct AttentionBuffers: @unchecked Sendable {
    /// Query rows.
    let queries: UnsafePointer<Float>
    /// Output rows, same layout as the queries.
    let output: UnsafeMutablePointer<Float>
    /// Log-sum-exp entries.
    let logSumExp: UnsafeMutablePointer<Float>
    /// Key rows.
    let keys: KVRowReader
    /// Value rows.
    let values: KVRowReader
    /// Every sequence's block table, concatenated (paged calls only).
    let pageTable: UnsafePointer<Int>
}

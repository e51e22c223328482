import Kernels

/// One `PagedAttention.run` call of an `AttentionJob`: a batch of sequences of one layer that have
/// the same number of query tokens, with everything the kernel reads.
///
/// `pool` is a copy of the layer's page pool taken when the job was made. `KVPagePool` is a value
/// type whose storage is copy-on-write, so the copy costs nothing, and the kernel reads exactly the
/// pages as they were then even if the instance changed its own pool during the run: the first
/// write to a pool whose storage a job still shares copies that layer's storage once. The shell
/// serves requests in arrival order (only `PullPages` is served beside the others, and it writes
/// pages only when its peer answers), so in practice the pool is not written while a kernel reads
/// it; the copy makes that safe rather than a rule to keep.
struct AttentionCall: Sendable, Equatable {
    /// Queries `[batch, queryLength, queryHeads, headDim]`, batch entries in the order of
    /// `sequenceIDs`.
    let q: [Float]
    /// Query tokens of every batch entry.
    let queryLength: Int
    /// Query heads of the model.
    let queryHeads: Int
    /// The layer's page pool as it was when the job was made.
    let pool: KVPagePool
    /// Each batch entry's page ids.
    let blockTables: [[Int]]
    /// Each batch entry's number of keys in the layer.
    let kvLengths: [Int]
    /// Causal mask and thread count.
    let options: AttentionOptions
    /// Each batch entry's sequence id, to name it in a refusal.
    let sequenceIDs: [UInt64]
    /// Each batch entry's first row in the answer's output (rows are query tokens).
    let firstRows: [Int]
}

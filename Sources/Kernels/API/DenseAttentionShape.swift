/// The shape of a dense (padded-batch) attention call: q `[B, Hq, Nq, D]`, k and v `[B, Hkv, Nk, D]`.
///
/// Every field must be positive and `queryHeads` a multiple of `kvHeads`; the kernels check this and
/// throw `KernelError` otherwise.
public struct DenseAttentionShape: Sendable, Hashable {
    /// Batch entries `B`.
    public var batch: Int
    /// Query heads `Hq`.
    public var queryHeads: Int
    /// Key/value heads `Hkv`; each serves `Hq / Hkv` query heads (grouped-query attention).
    public var kvHeads: Int
    /// Query tokens per batch entry `Nq`.
    public var queryLength: Int
    /// Key tokens per batch entry `Nk`.
    public var keyLength: Int
    /// Elements per head `D`.
    public var headDim: Int

    /// A shape; validity is checked by the kernels, not here.
    public init(batch: Int, queryHeads: Int, kvHeads: Int, queryLength: Int, keyLength: Int, headDim: Int) {
        self.batch = batch
        self.queryHeads = queryHeads
        self.kvHeads = kvHeads
        self.queryLength = queryLength
        self.keyLength = keyLength
        self.headDim = headDim
    }
}

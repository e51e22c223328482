/// What every attention entry point returns: the output rows and their log-sum-exp.
///
/// `lse[r]` is the natural log of the sum of `exp(score)` over the keys row `r` saw (after scale,
/// softcap and ALiBi); it is `-infinity` for a row that saw no key, whose output is all zeros.
/// Layouts are given by the entry point that produced the result.
public struct AttentionResult: Sendable, Hashable {
    /// Output, `headDim` floats per row.
    public var output: [Float]
    /// Log-sum-exp, one per row.
    public var logSumExp: [Float]

    /// Wraps an output and its log-sum-exp.
    public init(output: [Float], logSumExp: [Float]) {
        self.output = output
        self.logSumExp = logSumExp
    }
}

import Kernels

extension ReferenceAttention.Result {
    /// The result rounded to `Float`, in the kernels' result type.
    public var rounded: AttentionResult {
        AttentionResult(output: output.map(Float.init), logSumExp: logSumExp.map(Float.init))
    }

    /// The largest `|actual - reference|` over the output; infinity when the counts differ.
    public func largestOutputError(_ actual: [Float]) -> Double {
        Self.largestError(actual, output)
    }

    /// The largest `|actual - reference|` over the log-sum-exp, where a -inf matched by -inf
    /// counts as no error; infinity when the counts differ.
    public func largestLogSumExpError(_ actual: [Float]) -> Double {
        Self.largestError(actual, logSumExp)
    }

    private static func largestError(_ actual: [Float], _ reference: [Double]) -> Double {
        guard actual.count == reference.count else { return .infinity }
        return zip(actual, reference).map { a, r in
            Double(a) == r ? 0 : abs(Double(a) - r)
        }.max() ?? 0
    }
}

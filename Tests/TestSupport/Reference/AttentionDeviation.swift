import Kernels

/// How far a result (a kernel's, a worker's, a command's) is from the float64 reference.
public struct AttentionDeviation: Sendable, CustomStringConvertible {
    /// `‖out - ref‖₂ / ‖ref‖₂` over the whole output (absolute L2 when the reference is all zeros).
    public var outputRelativeL2: Double
    /// Largest `|lse - ref|` over rows where both are finite.
    public var logSumExpError: Double
    /// Rows where exactly one of kernel and reference has lse = -inf, or a NaN appears.
    public var logSumExpMismatches: Int
    /// Whether output and lse have the reference's element counts.
    public var countsMatch: Bool

    /// The deviation of `result` from `reference`.
    public init(_ result: AttentionResult, reference: ReferenceAttention.Result) {
        countsMatch =
            result.output.count == reference.output.count
            && result.logSumExp.count == reference.logSumExp.count
        var difference = 0.0
        var norm = 0.0
        for (a, b) in zip(result.output, reference.output) {
            difference += (Double(a) - b) * (Double(a) - b)
            norm += b * b
        }
        outputRelativeL2 = norm > 0 ? (difference / norm).squareRoot() : difference.squareRoot()
        if result.output.contains(where: { !$0.isFinite }) { outputRelativeL2 = .infinity }
        var worst = 0.0
        var mismatches = 0
        for (a, b) in zip(result.logSumExp, reference.logSumExp) {
            if a.isNaN || (a == -.infinity) != (b == -.infinity) {
                mismatches += 1
            } else if b.isFinite {
                worst = max(worst, abs(Double(a) - b))
            }
        }
        logSumExpError = worst
        logSumExpMismatches = mismatches
    }

    /// Whether the result is within `tolerance` (relative L2 of the output, absolute on lse).
    public func isWithin(_ tolerance: Double) -> Bool {
        countsMatch && outputRelativeL2 <= tolerance && logSumExpError <= tolerance
            && logSumExpMismatches == 0
    }

    public var description: String {
        "output relative L2 \(outputRelativeL2), lse error \(logSumExpError), "
            + "lse -inf mismatches \(logSumExpMismatches), counts match \(countsMatch)"
    }
}

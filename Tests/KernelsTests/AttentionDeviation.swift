import Kernels

/// How far a kernel's result is from the float64 reference.
struct AttentionDeviation: CustomStringConvertible {
    /// `‖out - ref‖₂ / ‖ref‖₂` over the whole output (absolute L2 when the reference is all zeros).
    var outputRelativeL2: Double
    /// Largest `|lse - ref|` over rows where both are finite.
    var logSumExpError: Double
    /// Rows where exactly one of kernel and reference has lse = -inf, or a NaN appears.
    var logSumExpMismatches: Int
    /// Whether output and lse have the reference's element counts.
    var countsMatch: Bool

    init(_ result: AttentionResult, reference: ReferenceAttention.Result) {
        countsMatch = result.output.count == reference.output.count
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
    func isWithin(_ tolerance: Double) -> Bool {
        countsMatch && outputRelativeL2 <= tolerance && logSumExpError <= tolerance
            && logSumExpMismatches == 0
    }

    var description: String {
        "output relative L2 \(outputRelativeL2), lse error \(logSumExpError), "
            + "lse -inf mismatches \(logSumExpMismatches), counts match \(countsMatch)"
    }
}

extension KVStorageType {
    /// Accepted relative L2 error of a kernel's output against the reference for this storage.
    var outputTolerance: Double {
        switch self {
        case .f32: 2e-5
        case .f16: 1e-2
        case .bf16: 2e-2
        case .int8: 4e-2
        }
    }
}

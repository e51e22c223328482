import Foundation

/// Exact combination of partial attention results computed over disjoint KV shards.
public enum AttentionMerge {
    /// Combines partial results over disjoint KV shards of the same rows (each with the same row count
    /// and headDim) into exactly the result over the union: out = Σ exp(lse_i - lse) out_i, lse = log Σ exp(lse_i).
    /// A part with lse = -inf contributes nothing; all -inf gives zeros and -inf.
    /// Throws `.mergeMismatch` for no parts, parts of different row counts, an output that is not
    /// `rows * headDim` floats, or an lse that is NaN or +inf; `.invalidDimension` for headDim <= 0.
    public static func merge(_ parts: [AttentionResult], headDim: Int) throws(KernelError) -> AttentionResult {
        guard headDim > 0 else { throw .invalidDimension(name: "headDim", value: headDim) }
        guard let first = parts.first else { throw .mergeMismatch("no partial results") }
        let rows = first.logSumExp.count
        let (outputCount, overflow) = rows.multipliedReportingOverflow(by: headDim)
        for (index, part) in parts.enumerated() {
            guard part.logSumExp.count == rows else {
                throw .mergeMismatch("part \(index) has \(part.logSumExp.count) rows, part 0 has \(rows)")
            }
            guard !overflow, part.output.count == outputCount else {
                throw .mergeMismatch(
                    "part \(index) has \(part.output.count) output floats, \(rows) rows of \(headDim) need \(outputCount)"
                )
            }
            if let bad = part.logSumExp.firstIndex(where: { $0.isNaN || $0 == .infinity }) {
                throw .mergeMismatch("part \(index) row \(bad) has lse \(part.logSumExp[bad])")
            }
        }
        var output = [Float](repeating: 0, count: outputCount)
        var logSumExp = [Float](repeating: -.infinity, count: rows)
        var weights = [Float](repeating: 0, count: parts.count)
        for row in 0..<rows {
            var maximum = -Float.infinity
            for part in parts { maximum = max(maximum, part.logSumExp[row]) }
            guard maximum > -.infinity else { continue }
            var total: Float = 0
            for (index, part) in parts.enumerated() {
                weights[index] = Foundation.exp(part.logSumExp[row] - maximum)
                total += weights[index]
            }
            logSumExp[row] = maximum + Foundation.log(total)
            let base = row * headDim
            for (index, part) in parts.enumerated() where weights[index] > 0 {
                let weight = weights[index] / total
                for d in 0..<headDim { output[base + d] += weight * part.output[base + d] }
            }
        }
        return AttentionResult(output: output, logSumExp: logSumExp)
    }
}

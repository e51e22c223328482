/// How far an attention answer is from its reference: the largest absolute difference over the
/// reference's largest magnitude, for the output and the log-sum-exp, the larger of the two. A
/// missing row or a NaN counts as infinitely far.
public enum AnswerDeviation {
    /// The deviation of (`output`, `lse`) from `expected`.
    public static func of(output: [Float], lse: [Float], expected: (output: [Float], lse: [Float])) -> Float {
        max(relative(output, expected.output), relative(lse, expected.lse))
    }

    /// max |got − expected| / max |expected|, or infinity when the counts differ or a value is NaN.
    public static func relative(_ got: [Float], _ expected: [Float]) -> Float {
        guard got.count == expected.count else { return .infinity }
        let scale = expected.reduce(Float.leastNormalMagnitude) { max($0, abs($1)) }
        let difference = zip(got, expected).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
        return difference.isNaN ? .infinity : difference / scale
    }
}

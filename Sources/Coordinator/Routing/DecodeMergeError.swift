/// Why the parts of a decode batch could not be merged.
public enum DecodeMergeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The number of answers is not the number of parts.
    case partCount(expected: Int, actual: Int)
    /// A part's answer has the wrong rows, or heads and head dimension unlike the first part's.
    case partShape(part: Int, shape: [Int], expectedRows: Int)
    /// The merge itself refused the partial results.
    case merge(String)

    /// A readable account.
    public var description: String {
        switch self {
        case let .partCount(expected, actual): "the decode had \(expected) parts, \(actual) answers came"
        case let .partShape(part, shape, rows):
            "part \(part) answered shape \(shape), \(rows) rows of the first part's heads were expected"
        case let .merge(reason): "the partial results could not be merged: \(reason)"
        }
    }
}

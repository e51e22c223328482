/// Why a request trace could not be read.
public enum TraceError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file could not be read.
    case unreadable(path: String, reason: String)
    /// A line is not a JSON object with the trace's fields.
    case malformedLine(line: Int, reason: String)
    /// A line's fields contradict each other or are out of range.
    case invalidRecord(line: Int, reason: String)
    /// The trace holds no request.
    case empty

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): "cannot read the trace \(path): \(reason)"
        case .malformedLine(let line, let reason): "trace line \(line) is not a trace record: \(reason)"
        case .invalidRecord(let line, let reason): "trace line \(line): \(reason)"
        case .empty: "the trace holds no request"
        }
    }
}

import Foundation

/// What a run of the cluster demo did, as readable lines, and every check that failed.
public struct ClusterDemoReport: Sendable {
    /// The report, in the order things happened; failures appear in it too.
    public private(set) var lines: [String] = []
    /// One line per failed check or error.
    private(set) var failures: [String] = []

    /// Whether every check passed and nothing went wrong.
    public var passed: Bool { failures.isEmpty }

    /// Adds a line.
    mutating func say(_ line: String) { lines.append(line) }

    /// Records a failure (also shown among the lines).
    mutating func fail(_ failure: String) {
        failures.append(failure)
        lines.append("FAILED: \(failure)")
    }

    /// Adds the lines and failures of `other` after these.
    mutating func append(_ other: ClusterDemoReport) {
        lines += other.lines
        failures += other.failures
    }

    /// A duration in milliseconds with two decimals.
    static func milliseconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        return String(format: "%.2f", Double(seconds) * 1e3 + Double(attoseconds) * 1e-15)
    }

    /// A float in scientific notation with two decimals.
    static func scientific(_ value: Float) -> String { String(format: "%.2e", Double(value)) }
}

/// Why a `LaunchedProcess` could not be started, or did not become ready. Whenever the child ran,
/// the error carries what it wrote to stderr and the tail of its stdout: the reason a process
/// fails to start is usually on its stderr.
public enum LaunchedProcessError: Error, Sendable, CustomStringConvertible {
    /// No executable file at this path.
    case notExecutable(path: String)
    /// The system refused to start it.
    case cannotStart(path: String, reason: String)
    /// It ended before printing its readiness line.
    case exitedBeforeReady(path: String, readyLinePrefix: String, exit: ProcessExit, output: Output)
    /// It printed no readiness line within the start timeout; it was killed.
    case notReady(path: String, readyLinePrefix: String, timeout: Duration, output: Output)

    /// What a failed child wrote.
    public struct Output: Sendable, CustomStringConvertible {
        /// Its stderr (the last lines, when there were many).
        public var standardError: String
        /// The last lines of its stdout.
        public var standardOutputTail: String

        /// Both streams, labelled, for an error message.
        public var description: String {
            "stderr:\n" + (standardError.isEmpty ? "(nothing)" : standardError)
                + "\nstdout (last lines):\n" + (standardOutputTail.isEmpty ? "(nothing)" : standardOutputTail)
        }
    }

    public var description: String {
        switch self {
        case .notExecutable(let path):
            "no executable at \(path): is it built?"
        case .cannotStart(let path, let reason):
            "\(path) could not be started: \(reason)"
        case .exitedBeforeReady(let path, let prefix, let exit, let output):
            "\(path) ended (\(exit)) before printing a line starting with \"\(prefix)\"\n\(output.description)"
        case .notReady(let path, let prefix, let timeout, let output):
            "\(path) printed no line starting with \"\(prefix)\" within \(timeout) and was killed\n\(output.description)"
        }
    }
}

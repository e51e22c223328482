import Coordinator
import Testing

extension LaunchedProcess {
    /// Records an issue with the process's stderr and the tail of its stdout when it ended on its
    /// own with a failure (a crash, a signal, a non-zero exit) before anyone signalled it. Call it
    /// where a test lets go of the process.
    public func recordIssueIfItFailedOnItsOwn(sourceLocation: SourceLocation = #_sourceLocation) {
        guard let exit = exitOnItsOwn, exit != .exited(0) else { return }
        Issue.record("\(executable.lastPathComponent) ended on its own: \(diagnostics)", sourceLocation: sourceLocation)
    }
}

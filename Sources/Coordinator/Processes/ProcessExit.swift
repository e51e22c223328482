import Glibc

/// How a child process ended.
public enum ProcessExit: Sendable, Hashable, CustomStringConvertible {
    /// It returned from `main` or called `exit` with this status.
    case exited(Int32)
    /// A signal with this number ended it.
    case signalled(Int32)

    /// The exit status; nil when a signal ended the process.
    public var exitStatus: Int32? {
        if case .exited(let status) = self { status } else { nil }
    }

    /// The exit status, or the number of the signal that ended the process (what Foundation's
    /// `Process.terminationStatus` reports).
    public var terminationStatus: Int32 {
        switch self {
        case .exited(let status), .signalled(let status): status
        }
    }

    public var description: String {
        switch self {
        case .exited(let status): "exit status \(status)"
        case .signalled(let signal): "killed by signal \(signal)" + (Self.signalNames[signal].map { " (\($0))" } ?? "")
        }
    }

    /// The names of the signals that usually end a child.
    private static let signalNames: [Int32: String] = [
        SIGHUP: "SIGHUP", SIGINT: "SIGINT", SIGQUIT: "SIGQUIT", SIGILL: "SIGILL", SIGTRAP: "SIGTRAP",
        SIGABRT: "SIGABRT", SIGBUS: "SIGBUS", SIGFPE: "SIGFPE", SIGKILL: "SIGKILL", SIGSEGV: "SIGSEGV",
        SIGPIPE: "SIGPIPE", SIGTERM: "SIGTERM",
    ]
}

import Glibc

/// A failed file system call of the disk tier: which call, on which path, and the system's reason.
struct DiskIOError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The call that failed (`open`, `write`, `fsync`, `rename`…).
    let operation: String
    /// The path it was given.
    let path: String
    /// `errno` after the call, or 0 when the failure is not a system error (a short file).
    let code: Int32
    /// Extra detail when `code` is 0.
    let detail: String

    /// The failure of `operation` on `path` with the current `errno`.
    static func system(_ operation: String, _ path: String) -> DiskIOError {
        DiskIOError(operation: operation, path: path, code: errno, detail: "")
    }

    /// A failure that is not a system error.
    static func other(_ operation: String, _ path: String, _ detail: String) -> DiskIOError {
        DiskIOError(operation: operation, path: path, code: 0, detail: detail)
    }

    /// `operation path: reason`.
    var description: String {
        let reason = code == 0 ? detail : String(cString: strerror(code))
        return "\(operation) \(path): \(reason)"
    }
}

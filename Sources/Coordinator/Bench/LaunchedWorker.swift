import Foundation
import Synchronization

/// An `mfa-worker` process started on loopback by a benchmark or the demo cluster: started with the
/// given arguments, known by its `listening` line, stopped with SIGTERM (and killed if it does not
/// exit in time, or outlives this object).
public final class LaunchedWorker: Sendable {
    /// Why a worker could not be started.
    public enum Failure: Error, CustomStringConvertible {
        /// No `mfa-worker` next to the running binary.
        case notFound(String)
        /// It printed no `listening` line in time (or exited).
        case noListeningLine(String)

        public var description: String {
            switch self {
            case .notFound(let path): "mfa-worker not found at \(path): build it (swift build) next to mfa-coordinator"
            case .noListeningLine(let output): "mfa-worker did not report its endpoint: \(output)"
            }
        }
    }

    /// The endpoint the worker listens on.
    let endpoint: String
    /// The worker's process id.
    let pid: Int32
    private let process: Mutex<Process?>

    /// The `mfa-worker` next to the running executable.
    public static func binaryNextToExecutable() throws(Failure) -> URL {
        let directory = (Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])).deletingLastPathComponent()
        let binary = directory.appendingPathComponent("mfa-worker")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else { throw .notFound(binary.path) }
        return binary
    }

    /// Starts `binary` listening on `tcp://127.0.0.1:*` with `arguments`; waits at most `timeout`
    /// for its endpoint.
    init(binary: URL, arguments: [String], timeout: Duration = .seconds(30)) throws {
        let process = Process()
        process.executableURL = binary
        process.arguments = ["--listen", "tcp://127.0.0.1:*", "--log-level", "error"] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        let printed = Printed()
        pipe.fileHandleForReading.readabilityHandler = { handle in printed.append(handle.availableData) }
        try process.run()
        let deadline = ContinuousClock.now + timeout
        var line: String?
        while line == nil, ContinuousClock.now < deadline, process.isRunning {
            line = printed.text.split(separator: "\n").first { $0.hasPrefix("listening ") }.map { String($0.dropFirst(10)) }
            if line == nil { Thread.sleep(forTimeInterval: 0.01) }
        }
        let text = printed.text
        guard let line else {
            kill(process.processIdentifier, SIGKILL)
            throw Failure.noListeningLine(text)
        }
        endpoint = line
        pid = process.processIdentifier
        self.process = Mutex(process)
    }

    /// Sends SIGTERM and waits at most `timeout` for the exit: its exit status, or nil when the
    /// worker did not exit in time (it is then killed) or died of a signal. A second call returns 0.
    @discardableResult
    func stop(within timeout: Duration = .seconds(10)) -> Int32? {
        guard let process = process.withLock({ value in defer { value = nil }; return value }) else { return 0 }
        kill(pid, SIGTERM)
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.01) }
        guard !process.isRunning else {
            kill(pid, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        process.waitUntilExit()
        return process.terminationReason == .exit ? process.terminationStatus : nil
    }

    /// What the worker printed, appended from the pipe's reader thread.
    private final class Printed: Sendable {
        private let value = Mutex("")
        func append(_ data: Data) { value.withLock { $0 += String(decoding: data, as: UTF8.self) } }
        var text: String { value.withLock { $0 } }
    }

    deinit {
        if let process = process.withLock({ $0 }), process.isRunning {
            kill(pid, SIGKILL)
            process.waitUntilExit()
        }
    }
}

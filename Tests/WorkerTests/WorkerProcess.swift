import Foundation
import Synchronization

/// Why a worker process could not be used.
enum WorkerProcessError: Error, CustomStringConvertible {
    /// No built `mfa-worker` was found at these paths.
    case binaryNotFound([String])
    /// The worker did not print its `listening` line in time; what it printed.
    case noListeningLine(String)

    var description: String {
        switch self {
        case .binaryNotFound(let paths): "mfa-worker not built; looked at \(paths)"
        case .noListeningLine(let output): "the worker printed no `listening` line in time: \(output)"
        }
    }
}

/// Text a child process printed, appended from the pipe's reader thread.
private final class PrintedText: Sendable {
    private let text = Mutex("")

    func append(_ data: Data) {
        text.withLock { $0 += String(decoding: data, as: UTF8.self) }
    }

    var value: String { text.withLock { $0 } }
}

/// A real `mfa-worker` started for a test on `tcp://127.0.0.1:*`: it is killed by PID when this
/// object goes away, whatever the test's outcome.
final class WorkerProcess {
    /// The endpoint the worker reported.
    let endpoint: String
    private let process: Process
    private let output: PrintedText
    private let errors: PrintedText

    /// The built worker next to the test bundle (`.build/debug/`).
    static func binary() throws -> URL {
        let bundleDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let packageBuild = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/debug")
        let candidates = [bundleDirectory, bundleDirectory.deletingLastPathComponent(), packageBuild]
            .map { $0.appendingPathComponent("mfa-worker") }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw WorkerProcessError.binaryNotFound(candidates.map(\.path))
        }
        return found
    }

    /// Starts a worker for `model` with `arguments` added, and waits (at most `startTimeout`) for
    /// its `listening` line.
    /// `logLevel` is the worker's `--log-level`; what it logs is kept in `standardError`.
    init(model: String, memory: String = "16MiB", arguments: [String] = [], logLevel: String = "error",
         startTimeout: Duration = .seconds(20)) throws {
        let process = Process()
        process.executableURL = try Self.binary()
        process.arguments = ["--listen", "tcp://127.0.0.1:*", "--model", model, "--memory", memory, "--threads", "2",
                             "--log-level", logLevel] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        let errorPipe = Pipe()
        process.standardError = errorPipe
        let output = PrintedText()
        let errors = PrintedText()
        pipe.fileHandleForReading.readabilityHandler = { handle in output.append(handle.availableData) }
        errorPipe.fileHandleForReading.readabilityHandler = { handle in errors.append(handle.availableData) }
        try process.run()
        self.process = process
        self.output = output
        self.errors = errors
        let deadline = ContinuousClock.now + startTimeout
        var line: String?
        while line == nil, ContinuousClock.now < deadline, process.isRunning {
            line = output.value.split(separator: "\n").first { $0.hasPrefix("listening ") }
                .map { String($0.dropFirst("listening ".count)) }
            if line == nil { Thread.sleep(forTimeInterval: 0.01) }
        }
        guard let line else {
            kill(process.processIdentifier, SIGKILL)
            throw WorkerProcessError.noListeningLine(output.value)
        }
        endpoint = line
    }

    /// What the worker has written to stderr so far (its log).
    var standardError: String { errors.value }

    /// Kills the worker with SIGKILL (no shutdown work at all) and waits for it to be gone.
    func killAbruptly() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Sends SIGTERM and waits at most `timeout` for the exit; the exit status, or nil if it is
    /// still running.
    func terminate(timeout: Duration = .seconds(10)) -> Int32? {
        sendTermination()
        return waitForExit(timeout: timeout)
    }

    /// Sends SIGTERM without waiting.
    func sendTermination() {
        kill(process.processIdentifier, SIGTERM)
    }

    /// Waits at most `timeout` for the exit; the exit status, or nil if it is still running.
    func waitForExit(timeout: Duration = .seconds(10)) -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.01) }
        return process.isRunning ? nil : process.terminationStatus
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

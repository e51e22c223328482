import Coordinator
import Foundation
import TestSupport
import Testing

/// A real `mfa-worker` started for a test on `tcp://127.0.0.1:*` (through `launchWorker`): it is
/// killed by PID when this object goes away, whatever the test's outcome, and dies with the test
/// run. A worker that ended on its own with a failure is reported then, with its stderr.
final class WorkerProcess {
    /// The endpoint the worker reported.
    let endpoint: String
    private let worker: LaunchedWorker
    /// Where the test started the worker: an issue about its end points there.
    private let startedAt: SourceLocation

    /// The built worker next to the test bundle (`.build/debug/`).
    static func binary() throws -> URL {
        try BuiltExecutable.worker.url()
    }

    /// Starts a worker for `model` with `arguments` added, and waits (at most `startTimeout`) for
    /// its `listening` line.
    /// `logLevel` is the worker's `--log-level`; what it logs is kept in `standardError`.
    /// A worker that does not start fails the test at `sourceLocation`, showing its stderr.
    init(
        model: String,
        memory: String = "16MiB",
        arguments: [String] = [],
        logLevel: String = "error",
        startTimeout: Duration = .seconds(20),
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        worker = try launchWorker(
            model: model,
            memory: memory,
            arguments: arguments,
            logLevel: logLevel,
            startTimeout: startTimeout,
            sourceLocation: sourceLocation
        )
        endpoint = worker.endpoint
        startedAt = sourceLocation
    }

    /// What the worker has written to stderr so far (its log).
    var standardError: String { worker.process.standardError }

    /// Kills the worker with SIGKILL (no shutdown work at all) and waits for it to be gone.
    func killAbruptly() {
        worker.process.kill()
    }

    /// Sends SIGTERM and waits at most `timeout` for the exit; the exit status (the signal's number
    /// when a signal ended it), or nil if it is still running.
    func terminate(timeout: Duration = .seconds(10)) -> Int32? {
        sendTermination()
        return waitForExit(timeout: timeout)
    }

    /// Sends SIGTERM without waiting.
    func sendTermination() {
        worker.process.send(SIGTERM)
    }

    /// Waits at most `timeout` for the exit; the exit status (the signal's number when a signal
    /// ended it), or nil if it is still running.
    func waitForExit(timeout: Duration = .seconds(10)) -> Int32? {
        worker.process.waitForExit(within: timeout)?.terminationStatus
    }

    deinit {
        worker.process.recordIssueIfItFailedOnItsOwn(sourceLocation: startedAt)
    }
}

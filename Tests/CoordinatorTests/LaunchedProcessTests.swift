import CacheProtocol
import Foundation
import TestSupport
import Testing

@testable import Coordinator

/// The launcher on small shell scripts: readiness, output, failures that show stderr, the
/// SIGTERM-then-SIGKILL stop, and the kill by PID when the handle goes away.
@Suite("LaunchedProcess")
struct LaunchedProcessTests {
    /// `/bin/sh -c script`, waiting for a line starting with `readyLinePrefix` when one is given.
    static func shell(
        _ script: String,
        readyLinePrefix: String? = "listening ",
        startTimeout: Duration = .seconds(10)
    ) throws(LaunchedProcessError) -> LaunchedProcess {
        try LaunchedProcess(
            executable: URL(fileURLWithPath: "/bin/sh"),
            arguments: ["-c", script],
            readyLinePrefix: readyLinePrefix,
            startTimeout: startTimeout
        )
    }

    @Test("the readiness line's rest is kept, stdout and stderr are read, and the child learns its parent's id")
    func readinessAndOutput() throws {
        let process = try Self.shell(
            "echo starting; echo warming >&2; echo \"listening $\(ParentWatch.environmentVariable)\"; exec sleep 30"
        )
        #expect(process.readyLine == String(getpid()))
        #expect(process.standardOutput.hasPrefix("starting\n"))
        #expect(process.exit == nil)
        #expect(process.stop(within: .seconds(5)) == .signalled(SIGTERM))
        #expect(process.standardError == "warming\n")
        #expect(process.exitOnItsOwn == nil)
    }

    @Test("a child that exits before its readiness line is an error showing its stderr and the tail of its stdout")
    func exitBeforeReady() throws {
        let error = #expect(throws: LaunchedProcessError.self) {
            try Self.shell("for i in $(seq 1 40); do echo log line $i; done; echo 'no such model: x' >&2; exit 3")
        }
        let description = try #require(error).description
        #expect(description.contains("exit status 3"))
        #expect(description.contains("no such model: x"))
        #expect(description.contains("log line 40") && !description.contains("log line 5\n"))
    }

    @Test("a child silent past the start timeout is killed, and the error shows its stderr")
    func notReadyInTime() throws {
        let error = #expect(throws: LaunchedProcessError.self) {
            try Self.shell("echo $$; echo 'still loading' >&2; exec sleep 30", startTimeout: .milliseconds(300))
        }
        let description = try #require(error).description
        #expect(description.contains("still loading") && description.contains("was killed"))
        let pid = try #require(description.split(separator: "\n").compactMap { Int32($0) }.first)
        #expect(kill(pid, 0) != 0, "pid \(pid) still exists")
    }

    @Test("a child that ignores SIGTERM is killed after the bounded wait")
    func stopEscalatesToKill() throws {
        let process = try Self.shell("trap '' TERM; echo 'listening x'; while :; do sleep 0.05; done")
        let started = ContinuousClock.now
        #expect(process.stop(within: .milliseconds(300)) == .signalled(SIGKILL))
        #expect(started.duration(to: .now) < .seconds(5))
        #expect(process.stop() == .signalled(SIGKILL))
    }

    @Test("a child that ends on its own is told apart from one that was stopped")
    func endOnItsOwn() throws {
        let process = try Self.shell("echo 'listening x'; echo 'bad state' >&2; exit 4")
        #expect(process.waitForExit(within: .seconds(10)) == .exited(4))
        #expect(process.exitOnItsOwn == .exited(4))
        #expect(process.diagnostics.contains("bad state") && process.diagnostics.contains("exit status 4"))
    }

    @Test("without a readiness line the child runs to its end")
    func runToEnd() throws {
        let process = try Self.shell("echo out; echo err >&2; exit 0", readyLinePrefix: nil)
        #expect(process.waitForExit(within: .seconds(10)) == .exited(0))
        #expect(process.standardOutput == "out\n" && process.standardError == "err\n")
    }

    @Test("the process is killed by PID when its handle goes away")
    func killedOnRelease() throws {
        var process: LaunchedProcess? = try Self.shell("echo \"listening $$\"; exec sleep 30")
        let pid = try #require(process?.pid)
        let entry = try #require(ProcessTable.entry(pid))
        process = nil
        #expect(!ProcessTable.isRunning(entry))
    }

    @Test("a worker that cannot start is an error that shows why, from the worker's stderr")
    func workerStartFailureShowsStderr() throws {
        let binary = try BuiltExecutable.worker.url()
        let error = #expect(throws: LaunchedProcessError.self) {
            try LaunchedWorker(binary: binary, arguments: ["--model", "nonsense"])
        }
        let description = try #require(error).description
        #expect(
            description.contains("exit status 1") && description.contains("\"nonsense\" is not key=value"),
            "\(description)"
        )
    }

    @Test("a missing executable is an error naming the path")
    func missingExecutable() {
        #expect(throws: LaunchedProcessError.self) {
            try LaunchedProcess(executable: URL(fileURLWithPath: "/nonexistent/mfa-worker"))
        }
    }
}

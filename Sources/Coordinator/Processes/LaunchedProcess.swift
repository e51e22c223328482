import CacheProtocol
import Foundation
import Glibc
import Synchronization

/// A child process this one started: the one launcher of tests, benchmarks and local clusters.
///
/// - Start: `executable` with `arguments`, its environment this process's plus `environment`.
///   With a `readyLinePrefix` (`"listening "` for `mfa-worker`) the initialiser waits, at most
///   `startTimeout`, for a line of stdout that starts with it and keeps the rest as `readyLine`
///   (the endpoint, or `client=<a> workers=<b>`); a child that ends or stays silent instead is
///   a `LaunchedProcessError` carrying its stderr and the tail of its stdout.
/// - Output: stdout and stderr are read as they arrive and kept (`standardOutput`,
///   `standardError`, `diagnostics`).
/// - Stop: `stop(within:)` sends SIGTERM, waits a bounded time, then SIGKILLs; `kill()` SIGKILLs at
///   once. Both return how the process ended (`ProcessExit`). When this object goes away the
///   process is killed by PID if it is still running, whatever path its owner took.
/// - Dying with this process: the child gets `ParentWatch.environmentVariable` set to this
///   process's id; `mfa-worker` and `mfa-coordinator` call `ParentWatch.startIfRequested()` at
///   start and SIGKILL themselves as soon as this process has died, however it died (a killed test
///   run leaves no worker behind). `ParentWatch` says why a pidfd of the parent process, and not
///   `PR_SET_PDEATHSIG`, which follows the spawning thread.
public final class LaunchedProcess: Sendable {
    /// The executable started.
    public let executable: URL
    /// Its arguments.
    public let arguments: [String]
    /// Its process id.
    public let pid: Int32
    /// The rest of the readiness line, after the prefix; nil when none was awaited.
    public let readyLine: String?

    /// Foundation's handle, kept for as long as this object lives (it reaps the child).
    private let process: Mutex<Process>
    private let output: ProcessOutput
    private let errors: ProcessOutput
    private let lifetime: ProcessLifetime

    /// How long stdout and stderr may stay open after the exit before a reader stops waiting for
    /// their last bytes.
    private static let outputGrace: Duration = .seconds(1)
    /// How long a SIGKILLed process may take to be reaped.
    private static let killGrace: Duration = .seconds(5)
    /// Lines of stderr and of stdout that errors and `diagnostics` show.
    private static let errorLines = 60, outputLines = 20

    /// Starts `executable` and, with a `readyLinePrefix`, waits at most `startTimeout` for its
    /// readiness line. A child that ends first, or is still silent at the timeout (it is then
    /// killed), is thrown as an error with its stderr and the tail of its stdout.
    public init(
        executable: URL,
        arguments: [String] = [],
        environment: [String: String] = [:],
        readyLinePrefix: String? = nil,
        startTimeout: Duration = .seconds(30)
    ) throws(LaunchedProcessError) {
        let path = executable.path
        guard FileManager.default.isExecutableFile(atPath: path) else { throw .notExecutable(path: path) }
        let output = ProcessOutput()
        let errors = ProcessOutput()
        let lifetime = ProcessLifetime()
        let process: Process
        do {
            process = try Self.spawning.withLock { _ in
                try Self.spawn(executable, arguments, environment, output: output, errors: errors, lifetime: lifetime)
            }
        } catch {
            throw .cannotStart(path: path, reason: "\(error)")
        }
        let pid = process.processIdentifier
        var readyLine: String?
        if let prefix = readyLinePrefix {
            let deadline = ContinuousClock.now + startTimeout
            while true {
                if let line = output.line(startingWith: prefix) {
                    readyLine = line
                    break
                }
                if let exit = lifetime.exit {
                    Self.awaitClosed(output, errors)
                    // The line may have come just before the exit, and been read only now.
                    if let line = output.line(startingWith: prefix) {
                        readyLine = line
                        break
                    }
                    throw .exitedBeforeReady(
                        path: path,
                        readyLinePrefix: prefix,
                        exit: exit,
                        output: Self.summary(output, errors)
                    )
                }
                if ContinuousClock.now >= deadline {
                    lifetime.signalling()
                    Glibc.kill(pid, SIGKILL)
                    _ = lifetime.waitForExit(until: .now + Self.killGrace)
                    Self.awaitClosed(output, errors)
                    throw .notReady(
                        path: path,
                        readyLinePrefix: prefix,
                        timeout: startTimeout,
                        output: Self.summary(output, errors)
                    )
                }
                Thread.sleep(forTimeInterval: 0.005)
            }
        }
        self.executable = executable
        self.arguments = arguments
        self.pid = pid
        self.readyLine = readyLine
        self.process = Mutex(process)
        self.output = output
        self.errors = errors
        self.lifetime = lifetime
    }

    /// Everything the process has written to stdout so far.
    public var standardOutput: String { output.text }

    /// Everything the process has written to stderr so far (its log).
    public var standardError: String { errors.text }

    /// How the process ended; nil while it runs.
    public var exit: ProcessExit? { lifetime.exit }

    /// How the process ended when it ended before this object sent it any signal (a crash, a
    /// fatal error, an exit of its own); nil while it runs or when it was stopped from here.
    public var exitOnItsOwn: ProcessExit? { lifetime.exitOnItsOwn }

    /// Sends `signal` (SIGTERM, SIGINT…) to the process, unless it has ended, and returns at once.
    public func send(_ signal: Int32) {
        lifetime.signalling()
        if lifetime.exit == nil { Glibc.kill(pid, signal) }
    }

    /// Waits at most `timeout` for the process to end: how it ended, or nil when it still runs.
    /// After the exit it waits a moment for the last bytes of stdout and stderr.
    public func waitForExit(within timeout: Duration) -> ProcessExit? {
        guard let exit = lifetime.waitForExit(until: .now + timeout) else { return nil }
        Self.awaitClosed(output, errors)
        return exit
    }

    /// Sends SIGTERM, waits at most `timeout`, then sends SIGKILL: how the process ended (nil only
    /// when even SIGKILL did not end it within a few seconds). A process that has ended already is
    /// not signalled again.
    @discardableResult
    public func stop(within timeout: Duration = .seconds(10)) -> ProcessExit? {
        send(SIGTERM)
        return waitForExit(within: timeout) ?? kill()
    }

    /// Sends SIGKILL (no shutdown work at all) and waits a few seconds for the end: how the process
    /// ended, or nil when it still runs.
    @discardableResult
    public func kill() -> ProcessExit? {
        send(SIGKILL)
        return waitForExit(within: Self.killGrace)
    }

    /// The process id, how the process ended (or that it runs), its stderr and the last lines of
    /// its stdout: what a failure report about it shows.
    public var diagnostics: String {
        if lifetime.exit != nil { Self.awaitClosed(output, errors) }
        let state = lifetime.exit.map { "\($0)" } ?? "running"
        return "\(executable.lastPathComponent) (pid \(pid), \(state))\n\(Self.summary(output, errors).description)"
    }

    /// Held while a child's pipes are made and it is spawned. `Process` closes in the child every
    /// descriptor that was open when it listed them; a pipe another thread makes meanwhile would
    /// leak into this child, which would then hold that pipe's write end (and the other child's
    /// exit notification) open for as long as it runs.
    private static let spawning = Mutex(())

    /// Starts `executable`: stdout and stderr into `output` and `errors`, the end into `lifetime`,
    /// stdin from /dev/null, and `ParentWatch.environmentVariable` set to this process's id.
    private static func spawn(
        _ executable: URL,
        _ arguments: [String],
        _ environment: [String: String],
        output: ProcessOutput,
        errors: ProcessOutput,
        lifetime: ProcessLifetime
    ) throws -> Process {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            .merging([ParentWatch.environmentVariable: String(getpid())]) { $1 }
        let outputPipe = Pipe()
        let errorPipe = Pipe()
        process.standardOutput = outputPipe
        process.standardError = errorPipe
        process.standardInput = FileHandle.nullDevice
        output.read(outputPipe)
        errors.read(errorPipe)
        process.terminationHandler = { process in
            lifetime.ended(
                process.terminationReason == .exit
                    ? .exited(process.terminationStatus) : .signalled(process.terminationStatus)
            )
        }
        try withEmptySignalMask { try process.run() }
        return process
    }

    /// Runs `body` with this thread's signal mask empty, restoring it after. A child starts with
    /// the mask of the thread that spawned it, and Dispatch's worker threads (where tests and
    /// async code run) block nearly every signal: spawned from one, a child would ignore SIGTERM
    /// until it unblocks it itself, and a plain program never does.
    private static func withEmptySignalMask<Value>(_ body: () throws -> Value) rethrows -> Value {
        var empty = sigset_t()
        var previous = sigset_t()
        sigemptyset(&empty)
        pthread_sigmask(SIG_SETMASK, &empty, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        return try body()
    }

    /// Waits (briefly) until both pipes reached end-of-file, so that what the process wrote last
    /// is in.
    private static func awaitClosed(_ output: ProcessOutput, _ errors: ProcessOutput) {
        let deadline = ContinuousClock.now + outputGrace
        while !(output.isClosed && errors.isClosed), ContinuousClock.now < deadline {
            Thread.sleep(forTimeInterval: 0.002)
        }
    }

    /// The stderr and stdout tail that errors carry.
    private static func summary(_ output: ProcessOutput, _ errors: ProcessOutput) -> LaunchedProcessError.Output {
        LaunchedProcessError.Output(
            standardError: errors.tail(lines: errorLines),
            standardOutputTail: output.tail(lines: outputLines)
        )
    }

    deinit {
        if lifetime.exit == nil {
            lifetime.signalling()
            Glibc.kill(pid, SIGKILL)
            _ = lifetime.waitForExit(until: .now + Self.killGrace)
        }
    }
}

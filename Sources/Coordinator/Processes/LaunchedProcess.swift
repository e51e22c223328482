import CLinux
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
        let pid = try Self.spawn(
            executable,
            arguments,
            environment,
            output: output,
            errors: errors,
            lifetime: lifetime
        )
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

    /// Starts `executable` with `posix_spawn`: stdout and stderr into `output` and `errors` (each
    /// read by a thread of its own until end-of-file), the end into `lifetime` (a thread waits for
    /// it with `waitpid`), stdin from /dev/null, and `ParentWatch.environmentVariable` set to this
    /// process's id. The pipes are made close-on-exec, so a child spawned meanwhile from another
    /// thread never inherits them; only this child gets them, as its stdout and stderr. Neither
    /// Foundation's `Process` nor Dispatch sources are involved: their SIGCHLD and pipe sources
    /// proved to crash libdispatch's event loop under many concurrent children.
    private static func spawn(
        _ executable: URL,
        _ arguments: [String],
        _ environment: [String: String],
        output: ProcessOutput,
        errors: ProcessOutput,
        lifetime: ProcessLifetime
    ) throws(LaunchedProcessError) -> pid_t {
        let path = executable.path
        func failure(_ call: String, _ code: Int32) -> LaunchedProcessError {
            .cannotStart(path: path, reason: "\(call): \(String(cString: strerror(code)))")
        }
        var outputPipe: [Int32] = [-1, -1]
        var errorPipe: [Int32] = [-1, -1]
        guard mfa_pipe_cloexec(&outputPipe) == 0 else { throw failure("pipe2", errno) }
        guard mfa_pipe_cloexec(&errorPipe) == 0 else {
            let code = errno
            close(outputPipe[0])
            close(outputPipe[1])
            throw failure("pipe2", code)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outputPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errorPipe[1], 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The child starts with no signal blocked and every signal at its default: Dispatch's
        // worker threads (where tests and async code run) block nearly every signal, and a child
        // spawned from one would otherwise ignore SIGTERM until it unblocks it itself.
        var empty = sigset_t()
        sigemptyset(&empty)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let variables = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            .merging([ParentWatch.environmentVariable: String(getpid())]) { $1 }
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = variables.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
        close(outputPipe[1])
        close(errorPipe[1])
        guard spawned == 0 else {
            close(outputPipe[0])
            close(errorPipe[0])
            throw failure("posix_spawn", spawned)
        }
        output.read(descriptor: outputPipe[0])
        errors.read(descriptor: errorPipe[0])
        lifetime.watch(pid)
        return pid
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

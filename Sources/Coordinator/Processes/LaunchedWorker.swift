import Foundation

/// An `mfa-worker` started on loopback by a benchmark, a local cluster or a test: a
/// `LaunchedProcess` given `--listen tcp://127.0.0.1:*` and a log level, and known by the endpoint
/// its `listening <endpoint>` line reports.
public struct LaunchedWorker: Sendable {
    /// The worker's process: its output, signals and exit.
    public let process: LaunchedProcess
    /// The endpoint the worker listens on.
    public let endpoint: String

    /// The worker's process id.
    public var pid: Int32 { process.pid }

    /// The `mfa-worker` next to the running executable.
    public static func binaryNextToExecutable() throws(LaunchedProcessError) -> URL {
        let directory = (Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0]))
            .deletingLastPathComponent()
        let binary = directory.appendingPathComponent("mfa-worker")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else { throw .notExecutable(path: binary.path) }
        return binary
    }

    /// Starts `binary` listening on `tcp://127.0.0.1:*` at `logLevel` with `arguments` and
    /// `environment` added; waits at most `startTimeout` for its endpoint.
    public init(
        binary: URL,
        arguments: [String],
        environment: [String: String] = [:],
        logLevel: String = "error",
        startTimeout: Duration = .seconds(30)
    ) throws(LaunchedProcessError) {
        process = try LaunchedProcess(
            executable: binary,
            arguments: ["--listen", "tcp://127.0.0.1:*", "--log-level", logLevel] + arguments,
            environment: environment,
            readyLinePrefix: "listening ",
            startTimeout: startTimeout
        )
        endpoint = process.readyLine ?? ""
    }

    /// Sends SIGTERM and waits at most `timeout` for the exit, then kills the worker: its exit
    /// status, or nil when it had to be killed or died of a signal. A stopped worker is not
    /// signalled again, and answers with the same status.
    @discardableResult
    public func stop(within timeout: Duration = .seconds(10)) -> Int32? {
        process.stop(within: timeout)?.exitStatus
    }
}

import Coordinator
import Foundation
import Testing

/// Starts the built `mfa-worker` on `tcp://127.0.0.1:*` for `model` with a hot pool of `memory`,
/// two kernel threads, `arguments` and `environment` added, and waits at most `startTimeout` for its endpoint.
/// `logLevel` is its `--log-level`; its log is the process's `standardError`. A worker that does
/// not start fails the test (`#require`, at `sourceLocation`) with its stderr and the tail of its
/// stdout. The worker is killed by PID when the returned handle goes away, and dies with this
/// process.
public func launchWorker(
    model: String,
    memory: String = "16MiB",
    arguments: [String] = [],
    environment: [String: String] = [:],
    logLevel: String = "error",
    startTimeout: Duration = .seconds(20),
    sourceLocation: SourceLocation = #_sourceLocation
) throws -> LaunchedWorker {
    let binary = try BuiltExecutable.worker.url(sourceLocation: sourceLocation)
    return try requireStarted("mfa-worker", sourceLocation: sourceLocation) {
        try LaunchedWorker(
            binary: binary,
            arguments: ["--model", model, "--memory", memory, "--threads", "2"] + arguments,
            environment: environment,
            logLevel: logLevel,
            startTimeout: startTimeout
        )
    }
}

import Coordinator
import Foundation
import Testing

/// An executable of this package, built next to the tests (`swift build --build-tests` puts the
/// test runner and the executables in one directory).
public struct BuiltExecutable: Sendable {
    /// The executable's file name.
    public let name: String

    /// `mfa-worker`.
    public static let worker = BuiltExecutable(name: "mfa-worker")
    /// `mfa-coordinator`.
    public static let coordinator = BuiltExecutable(name: "mfa-coordinator")

    /// The directories searched, in order: the test runner's, its bundle's, and this checkout's
    /// `.build/debug`.
    static var searchDirectories: [URL] {
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let package = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return [
            runner, runner.deletingLastPathComponent(), Bundle.main.bundleURL.deletingLastPathComponent(),
            package.appendingPathComponent(".build/debug"),
        ]
    }

    /// The built executable; a test that calls this fails (`#require`) when it is not built.
    public func url(sourceLocation: SourceLocation = #_sourceLocation) throws -> URL {
        let candidates = Self.searchDirectories.map { $0.appendingPathComponent(name) }
        return try #require(
            candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) },
            "\(name) is not built; looked at \(candidates.map(\.path))",
            sourceLocation: sourceLocation
        )
    }

    /// Starts the executable with `arguments` and, with a `readyLinePrefix`, waits at most
    /// `startTimeout` for its readiness line. A start that fails fails the test (`#require`), and
    /// the recorded issue holds the process's stderr and the tail of its stdout.
    public func launch(
        arguments: [String] = [],
        readyLinePrefix: String? = nil,
        startTimeout: Duration = .seconds(30),
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> LaunchedProcess {
        let executable = try url(sourceLocation: sourceLocation)
        return try requireStarted(name, sourceLocation: sourceLocation) {
            try LaunchedProcess(
                executable: executable,
                arguments: arguments,
                readyLinePrefix: readyLinePrefix,
                startTimeout: startTimeout
            )
        }
    }
}

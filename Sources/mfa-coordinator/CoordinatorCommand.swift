import ArgumentParser
import Coordinator

/// `mfa-coordinator`: the cluster's coordinator daemon and its operator commands.
struct CoordinatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mfa-coordinator",
        abstract: "MFA Cluster coordinator and operator tools.",
        subcommands: [
            ServeCommand.self, DrainCommand.self, StatusCommand.self, RunCommand.self, AttentionCommand.self,
            BenchCommand.self,
        ]
    )

    /// Parses the command line and runs the chosen command. A usage error (unknown option, missing
    /// or malformed value) prints one `error:` line on standard error and exits with status 2;
    /// help, version and the commands' own exit codes pass through unchanged.
    static func runCommandLine() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                StandardError.report(message(for: error))
                exit(withError: ExitCode(2))
            }
            exit(withError: error)
        }
    }
}

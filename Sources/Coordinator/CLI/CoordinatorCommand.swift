import ArgumentParser

/// `mfa-coordinator`: the cluster's coordinator daemon and its operator commands.
@main
struct CoordinatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mfa-coordinator",
        abstract: "MFA Cluster coordinator and operator tools.",
        subcommands: [RunCommand.self, AttentionCommand.self, BenchCommand.self]
    )
}

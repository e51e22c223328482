import ArgumentParser

/// `mfa-worker`: holds KV pages and runs attention on its shards.
@main
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mfa-worker",
        abstract: "MFA Cluster worker: paged KV cache, prefix cache tiers and attention service."
    )
    func run() async throws {}
}

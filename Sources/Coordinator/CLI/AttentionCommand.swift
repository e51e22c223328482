import ArgumentParser

struct AttentionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "attention")
    func run() async throws {}
}

import ArgumentParser

struct TransportBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "transport")
    func run() async throws {}
}

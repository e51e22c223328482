import ArgumentParser

struct KernelsBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "kernels")
    func run() async throws {}
}

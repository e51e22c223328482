import ArgumentParser
import Coordinator

/// `mfa-coordinator bench transport`: memcpy ceiling, loopback ZeroMQ and the KV page codec.
struct TransportBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transport",
        abstract: "Measure loopback ZeroMQ and the KV page codec against this machine's memcpy bandwidth."
    )

    @Flag(help: "Print one JSON object a line.")
    var json = false

    @Option(help: "Real KV tensor: float16 .npy of shape [layers, 2, tokens, heads, head_dim].")
    var kv = "Tests/Fixtures/minilm-kv-a.npy"

    func run() async throws {
        let benchmark = TransportBenchmark(kvPath: kv)
        do {
            try await benchmark.run { row in print(json ? row.json : row.text) }
        } catch let failure as TransportBenchmark.Failure {
            throw ValidationError(failure.description)
        }
    }
}

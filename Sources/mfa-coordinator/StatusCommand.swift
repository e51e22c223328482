import ArgumentParser
import CacheProtocol
import Coordinator

/// `mfa-coordinator status`: the coordinator's workers and totals.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract:
            "Show the cluster's workers (state, pages per tier, sequences, hit rate, load, heartbeat age) and totals."
    )

    @Option(help: "The coordinator's client endpoint.")
    var coordinator: String
    @Flag(help: "Print one JSON object instead of the table.")
    var json = false
    @Option(help: "Seconds to wait for the coordinator's answer.")
    var timeout = 10

    func validate() throws {
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
    }

    func run() async throws {
        let context = try ZMQContext()
        let client = try ClusterClient(context: context, endpoint: coordinator, timeout: .seconds(timeout))
        let status: ClusterStatus
        do throws(OperatorError) {
            status = try await OperatorClient(client: client).status()
        } catch {
            await client.disconnect()
            StandardError.report(error.description)
            throw ExitCode(1)
        }
        await client.disconnect()
        print(json ? try status.json() : status.table)
    }
}

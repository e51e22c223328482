import ArgumentParser
import CacheProtocol
import Coordinator

/// `mfa-coordinator drain`: moves a worker's sequences and cached pages to the other workers and
/// lets it leave.
struct DrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drain",
        abstract:
            "Drain a worker: its live sequences move to other workers, its cached prefixes are pulled, then it leaves."
    )

    @Option(help: "The coordinator's client endpoint.")
    var coordinator: String
    @Option(help: "The id of the worker to drain.")
    var worker: UInt64
    @Flag(help: "Wait until the worker has left.")
    var wait = false
    @Option(help: "Seconds to wait with --wait, and for the coordinator's answer.")
    var timeout = 300

    func validate() throws {
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
    }

    func run() async throws {
        let context = try ZMQContext()
        let client = try ClusterClient(context: context, endpoint: coordinator, timeout: .seconds(timeout))
        let operatorClient = OperatorClient(client: client)
        do throws(OperatorError) {
            try await operatorClient.drain(worker: worker)
            print("draining worker \(worker)")
            if wait {
                let status = try await operatorClient.waitUntilLeft(worker: worker, timeout: .seconds(timeout))
                let moved = status.totals["cluster.drain.moved"] ?? 0
                let stayed = status.totals["cluster.drain.stayed"] ?? 0
                print("worker \(worker) left; sequences moved \(moved), stayed \(stayed) (cluster totals)")
            }
        } catch {
            await client.disconnect()
            StandardError.report(error.description)
            throw ExitCode(1)
        }
        await client.disconnect()
    }
}

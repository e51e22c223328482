import CacheProtocol

/// The operator commands `drain` and `status` against a coordinator's client endpoint, through a
/// `ClusterClient`.
public struct OperatorClient: Sendable {
    /// How often `drain --wait` reads the coordinator's counters.
    public static let pollInterval = Duration.milliseconds(200)

    private let client: ClusterClient

    /// Commands sent through `client`.
    public init(client: ClusterClient) {
        self.client = client
    }

    /// The coordinator's view of the cluster (its `StatsReply`).
    public func status() async throws(OperatorError) -> ClusterStatus {
        do throws(ClusterClientError) {
            return ClusterStatus(counters: try await client.stats())
        } catch {
            throw .request("StatsRequest", error)
        }
    }

    /// Starts draining worker `id`: the coordinator acknowledges once the worker takes no new
    /// sequences; its shards and cached pages then move to other workers and it leaves.
    public func drain(worker id: UInt64) async throws(OperatorError) {
        let answer: Message
        do throws(ClusterClientError) {
            answer = try await client.request(.drain(Drain(workerID: id)))
        } catch {
            throw .request("Drain of worker \(id)", error)
        }
        guard answer == .ack(Ack()) else { throw .unexpectedAnswer("Drain of worker \(id)", answer.type) }
    }

    /// Waits until worker `id` has left (its drain is over and it deregistered), reading the
    /// coordinator's counters every `pollInterval`, for at most `timeout`. Returns the last
    /// status. Throws when the worker dies or `timeout` passes first.
    public func waitUntilLeft(worker id: UInt64, timeout: Duration) async throws(OperatorError) -> ClusterStatus {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while true {
            let status = try await status()
            let state = status.workers.first { $0.id == id }?.state ?? "unknown"
            if state == "left" { return status }
            if state == "dead" { throw .workerDied(id) }
            guard clock.now < deadline else {
                throw .drainTimedOut(id, seconds: Int(timeout.components.seconds), state: state)
            }
            try? await Task.sleep(for: Self.pollInterval)
        }
    }
}

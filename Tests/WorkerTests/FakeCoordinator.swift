import CacheProtocol
import Foundation

/// Why a fake coordinator's exchange with a worker went wrong.
enum FakeCoordinatorError: Error, CustomStringConvertible {
    /// The worker sent another message than the one expected.
    case unexpected(expected: String, received: MessageType)

    var description: String {
        switch self {
        case let .unexpected(expected, received): "expected \(expected), the worker sent \(received)"
        }
    }
}

/// A message a worker sent to the fake coordinator, with its sender and the time it was taken off
/// the socket.
struct WorkerArrival: Sendable {
    /// The worker's routing identity (to answer it).
    var identity: [UInt8]
    /// The message.
    var envelope: Envelope
    /// When the fake coordinator received it.
    var receivedAt: ContinuousClock.Instant
}

/// The test acting as a coordinator: a ROUTER on `tcp://127.0.0.1:*` that workers register with.
final class FakeCoordinator: Sendable {
    /// The ROUTER workers connect to.
    let endpoint: ZMQEndpoint
    /// The cluster's model, sent back to a registering worker.
    let spec: ModelSpec

    /// A coordinator of a cluster of `spec`, bound to a fresh loopback port.
    init(spec: ModelSpec, context: ZMQContext) throws {
        self.spec = spec
        endpoint = try ZMQEndpoint(.router, context: context, bind: ["tcp://127.0.0.1:*"])
    }

    /// The address to give `mfa-worker --coordinator`.
    var address: String { endpoint.boundEndpoints.first ?? "" }

    /// The next message from any worker, waiting at most `timeout`.
    func next(timeout: Duration = .seconds(10)) async throws -> WorkerArrival {
        let frames = try await endpoint.receive(timeout: timeout)
        let receivedAt = ContinuousClock.now
        return WorkerArrival(
            identity: Array(frames[0]),
            envelope: try Envelope(frames: Array(frames.dropFirst())),
            receivedAt: receivedAt
        )
    }

    /// The next message that is not a heartbeat, waiting at most `timeout` for each message.
    func nextOtherThanHeartbeat(timeout: Duration = .seconds(10)) async throws -> WorkerArrival {
        while true {
            let arrival = try await next(timeout: timeout)
            if case .heartbeat = arrival.envelope.message { continue }
            return arrival
        }
    }

    /// Sends `message` to the worker that sent `arrival`, as the answer to it.
    func answer(_ arrival: WorkerArrival, with message: Message) async throws {
        try await endpoint.send(
            [arrival.identity] + Envelope(requestID: arrival.envelope.requestID, message: message).encode(),
            timeout: .seconds(5)
        )
    }

    /// Takes the worker's RegisterWorker and accepts it; the registration.
    @discardableResult
    func acceptRegistration() async throws -> RegisterWorker {
        let arrival = try await next()
        guard case .registerWorker(let registration) = arrival.envelope.message else {
            throw FakeCoordinatorError.unexpected(expected: "RegisterWorker", received: arrival.envelope.message.type)
        }
        try await answer(arrival, with: .registerWorkerReply(RegisterWorkerReply(outcome: .accepted(spec))))
        return registration
    }

    /// Waits for the worker's DeregisterWorker, skipping heartbeats, and acknowledges it; the
    /// worker id it names.
    func acknowledgeDeregistration(timeout: Duration = .seconds(10)) async throws -> UInt64 {
        let arrival = try await nextOtherThanHeartbeat(timeout: timeout)
        guard case .deregisterWorker(let body) = arrival.envelope.message else {
            throw FakeCoordinatorError.unexpected(expected: "DeregisterWorker", received: arrival.envelope.message.type)
        }
        try await answer(arrival, with: .ack(Ack()))
        return body.workerID
    }

    /// Closes the ROUTER.
    func close() async {
        await endpoint.close()
    }
}

import Synchronization

/// A DEALER client that sends requests and matches each reply to its request by a request id the
/// caller's extractor reads from the first frame (the same extractor reads requests and replies),
/// so many requests can be in flight and replies may come back in any order.
///
/// Replies whose id no request waits for (late, after a timeout) are dropped.
public final class ZMQRequester: Sendable {
    /// The DEALER endpoint requests go through.
    public let endpoint: ZMQEndpoint
    private let requestID: @Sendable (any FrameBytes) -> UInt64?
    private let pending: PendingReplies
    private let reader: Task<Void, Never>

    /// A DEALER connected to `connect`, matching replies with `requestID`, which reads the id from a
    /// message's first frame (`nil`: the frame carries none).
    public init(
        context: ZMQContext,
        connect: [String],
        options: ZMQSocketOptions = ZMQSocketOptions(),
        requestID: @escaping @Sendable (any FrameBytes) -> UInt64?
    ) throws(TransportError) {
        let endpoint = try ZMQEndpoint(.dealer, context: context, options: options, connect: connect)
        let pending = PendingReplies()
        self.endpoint = endpoint
        self.requestID = requestID
        self.pending = pending
        self.reader = Task {
            while true {
                do throws(TransportError) {
                    let reply = try await endpoint.receive()
                    if let first = reply.first, let id = requestID(first) {
                        pending.complete(id, with: .success(reply))
                    }
                } catch {
                    pending.failAll(error)
                    return
                }
            }
        }
    }

    /// Sends `frames` and returns the reply carrying the same request id, its frames still in
    /// libzmq's buffers; throws `TransportError.timedOut` when no reply arrives within `timeout`,
    /// `.missingRequestID` when the frames carry no id, `.duplicateRequestID` when that id is
    /// already in flight.
    public func request(_ frames: [[UInt8]], timeout: Duration) async throws(TransportError) -> [ZMQFrame] {
        guard let first = frames.first, let id = requestID(first) else { throw .missingRequestID }
        try pending.register(id)
        let timer = Task { [pending] in
            try? await Task.sleep(for: timeout)
            if !Task.isCancelled {
                pending.complete(id, with: .failure(.timedOut(operation: "request", timeout: timeout)))
            }
        }
        defer { timer.cancel() }
        do {
            try await endpoint.send(frames, timeout: timeout)
        } catch {
            pending.complete(id, with: .failure(error))
        }
        let result = await withCheckedContinuation { continuation in pending.attach(id, continuation) }
        return try result.get()
    }

    /// Closes the endpoint (failing requests in flight with `.closed`) and waits for the reader.
    public func close() async {
        await endpoint.close()
        await reader.value
    }

    deinit {
        endpoint.shutDown()
    }
}

/// Requests in flight, by id: each waits for its reply, its continuation, or both.
final class PendingReplies: Sendable {
    typealias Continuation = CheckedContinuation<Result<[ZMQFrame], TransportError>, Never>

    private struct Entry {
        var result: Result<[ZMQFrame], TransportError>?
        var continuation: Continuation?
    }

    private struct State {
        var entries: [UInt64: Entry] = [:]
        var failure: TransportError?
    }

    private let state = Mutex(State())

    func register(_ id: UInt64) throws(TransportError) {
        let outcome: TransportError? = state.withLock { s in
            if let failure = s.failure { return failure }
            if s.entries[id] != nil { return .duplicateRequestID(id) }
            s.entries[id] = Entry()
            return nil
        }
        if let outcome { throw outcome }
    }

    /// Records the first outcome for `id` and resumes its caller if it already waits.
    func complete(_ id: UInt64, with result: Result<[ZMQFrame], TransportError>) {
        let ready: (Continuation, Result<[ZMQFrame], TransportError>)? = state.withLock { s in
            guard var entry = s.entries[id], entry.result == nil else { return nil }
            if let continuation = entry.continuation {
                s.entries[id] = nil
                return (continuation, result)
            }
            entry.result = result
            s.entries[id] = entry
            return nil
        }
        if let (continuation, result) = ready { continuation.resume(returning: result) }
    }

    func attach(_ id: UInt64, _ continuation: Continuation) {
        let result: Result<[ZMQFrame], TransportError>? = state.withLock { s in
            guard var entry = s.entries[id] else { return .failure(.closed) }
            if let result = entry.result {
                s.entries[id] = nil
                return result
            }
            entry.continuation = continuation
            s.entries[id] = entry
            return nil
        }
        if let result { continuation.resume(returning: result) }
    }

    func failAll(_ error: TransportError) {
        let ids = state.withLock { s in
            s.failure = error
            return Array(s.entries.keys)
        }
        for id in ids { complete(id, with: .failure(error)) }
    }
}

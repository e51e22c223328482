import Synchronization

/// The shared state between an endpoint's async callers and its socket thread, and the thread's
/// loop itself.
final class EndpointLoop: Sendable {
    typealias SendContinuation = CheckedContinuation<Result<Void, TransportError>, Never>
    typealias ReceiveContinuation = CheckedContinuation<Result<[ZMQFrame], TransportError>, Never>

    struct Send: Sendable {
        var frames: [[UInt8]]
        var deadline: ContinuousClock.Instant?
        var timeout: Duration?
        /// The caller awaiting the outcome; nil for a message posted without waiting.
        var continuation: SendContinuation?
        /// Told why a posted message could not be sent.
        var onFailure: (@Sendable (TransportError) -> Void)?

        /// Hands the outcome to whoever waits for it.
        func finish(_ result: Result<Void, TransportError>) {
            if let continuation {
                continuation.resume(returning: result)
            } else if case .failure(let error) = result {
                onFailure?(error)
            }
        }
    }

    struct Waiter: Sendable {
        var deadline: ContinuousClock.Instant?
        var timeout: Duration?
        var continuation: ReceiveContinuation
    }

    private struct State: Sendable {
        var sends: [Send] = []
        var waiters: [Waiter] = []
        var inbox: [[ZMQFrame]] = []
        var closing = false
        var closed = false
        /// `stopReceiving()` was called: receives fail with `.receivingStopped` and the thread no
        /// longer reads the socket.
        var receivingStopped = false
        var closeWaiters: [CheckedContinuation<Void, Never>] = []
        /// A byte is in the wake pipe that the thread has not yet acted on: further callers need
        /// not write another (one system call per wake, not per message).
        var wakePending = false
        /// What the thread's current sleep already covers: it wakes by itself at `sleepDeadline`
        /// (`nil`: only on I/O or the pipe) and reads the socket unless `readPaused` (inbox full).
        var sleepDeadline: ContinuousClock.Instant?
        var readPaused = false
        /// Messages the thread makes and sends on a schedule of its own.
        var periodic: PeriodicSend?

        /// Marks a wake as pending; whether the caller must write the pipe.
        mutating func needsWake() -> Bool {
            defer { wakePending = true }
            return !wakePending
        }

        /// Whether a new waiter with `deadline` needs the thread awake: only when the thread stopped
        /// reading or would sleep past the deadline. Arriving messages reach waiters anyway.
        func sleepMisses(_ deadline: ContinuousClock.Instant?) -> Bool {
            guard !readPaused, let deadline else { return readPaused }
            guard let sleepDeadline else { return true }
            return deadline < sleepDeadline
        }
    }

    private let state = Mutex(State())
    private let wake: WakePipe

    init(wake: WakePipe) {
        self.wake = wake
    }

    func enqueue(_ send: Send) {
        let accepted: (Bool, Bool) = state.withLock { s in
            guard !s.closing else { return (false, false) }
            s.sends.append(send)
            return (true, s.needsWake())
        }
        if !accepted.0 { send.finish(.failure(.closed)) } else if accepted.1 { wake.wake() }
    }

    func wait(_ waiter: Waiter) {
        enum Outcome {
            case message([ZMQFrame])
            case failed(TransportError)
            case queued(wake: Bool)
        }
        let outcome: Outcome = state.withLock { s in
            if s.closing { return .failed(.closed) }
            if s.receivingStopped { return .failed(.receivingStopped) }
            if !s.inbox.isEmpty { return .message(s.inbox.removeFirst()) }
            s.waiters.append(waiter)
            return .queued(wake: s.sleepMisses(waiter.deadline) && s.needsWake())
        }
        switch outcome {
        case .message(let frames): waiter.continuation.resume(returning: .success(frames))
        case .failed(let error): waiter.continuation.resume(returning: .failure(error))
        case .queued(let needed): if needed { wake.wake() }
        }
    }

    /// Fails every waiting receive with `.receivingStopped`, drops the messages read but not yet
    /// taken, and makes every later receive fail the same way; the thread stops reading the socket
    /// (so libzmq holds what arrives until the socket closes) but goes on sending.
    func stopReceiving() {
        let waiters: [Waiter] = state.withLock { s in
            s.receivingStopped = true
            s.inbox.removeAll()
            defer { s.waiters.removeAll() }
            return s.waiters
        }
        for waiter in waiters { waiter.continuation.resume(returning: .failure(.receivingStopped)) }
        wake.wake()
    }

    /// Starts (or replaces) the thread's periodic sends; `nil` stops them.
    func schedule(_ periodic: PeriodicSend?) {
        state.withLock { $0.periodic = periodic }
        wake.wake()
    }

    func close(_ continuation: CheckedContinuation<Void, Never>) {
        let done = state.withLock { s in
            s.closing = true
            if !s.closed { s.closeWaiters.append(continuation) }
            return s.closed
        }
        if done { continuation.resume() } else { wake.wake() }
    }

    func requestClose() {
        state.withLock { $0.closing = true }
        wake.wake()
    }

    /// The socket thread's body: runs until close is requested, then fails what is pending and
    /// closes `socket`.
    func run(_ socket: ZMQSocket) {
        var outgoing: [Send] = []
        while true {
            wake.drain()
            // A due tick's messages are made before the queued sends are taken and go out after
            // them: they follow everything queued before they were made.
            let tick: PeriodicSend? = state.withLock { s in
                guard !s.closing, var periodic = s.periodic, periodic.takeTick(at: .now) else { return nil }
                s.periodic = periodic
                return periodic
            }
            let ticked = tick.map { $0.messages() } ?? []
            let (fresh, closing) = state.withLock { s in
                defer {
                    s.sends.removeAll()
                    s.wakePending = false
                }
                return (s.sends, s.closing)
            }
            outgoing.append(contentsOf: fresh)
            if let tick {
                for frames in ticked where !frames.isEmpty {
                    outgoing.append(
                        Send(
                            frames: frames,
                            deadline: .now + tick.interval,
                            timeout: tick.interval,
                            continuation: nil,
                            onFailure: tick.onFailure
                        )
                    )
                }
            }
            if closing { break }

            var sent = 0
            while sent < outgoing.count {
                do {
                    guard try socket.send(outgoing[sent].frames) else { break }
                    outgoing[sent].finish(.success(()))
                } catch {
                    outgoing[sent].finish(.failure(error))
                }
                sent += 1
            }
            outgoing.removeFirst(sent)

            let hasRoom = readIncoming(socket)

            let now = ContinuousClock.now
            outgoing.removeAll { send in
                guard let deadline = send.deadline, deadline <= now else { return false }
                send.finish(.failure(.timedOut(operation: "send", timeout: send.timeout ?? .zero)))
                return true
            }
            let sendDeadline = outgoing.compactMap(\.deadline).min()
            let (expired, deadline, readable) = state.withLock { s in
                var expired: [Waiter] = []
                s.waiters.removeAll { waiter in
                    guard let deadline = waiter.deadline, deadline <= now else { return false }
                    expired.append(waiter)
                    return true
                }
                s.sleepDeadline =
                    (s.waiters.compactMap(\.deadline) + [sendDeadline, s.periodic?.next].compactMap { $0 }).min()
                s.readPaused = s.receivingStopped || !(hasRoom && s.inbox.count < Self.inboxLimit)
                return (expired, s.sleepDeadline, !s.readPaused)
            }
            for waiter in expired {
                waiter.continuation.resume(
                    returning: .failure(.timedOut(operation: "receive", timeout: waiter.timeout ?? .zero))
                )
            }
            let timeout = deadline.map { ZMQPoller.milliseconds(until: $0, from: now) } ?? -1
            do {
                _ = try ZMQPoller.wait(
                    socket: socket,
                    read: readable,
                    write: !outgoing.isEmpty,
                    wakeFD: wake.readFD,
                    timeoutMilliseconds: timeout
                )
            } catch {
                break
            }
        }
        let (queued, waiters, closeWaiters) = state.withLock { s in
            s.closing = true
            s.closed = true
            s.periodic = nil
            defer {
                s.sends.removeAll()
                s.waiters.removeAll()
                s.closeWaiters.removeAll()
                s.inbox.removeAll()
            }
            return (s.sends, s.waiters, s.closeWaiters)
        }
        for send in outgoing + queued { send.finish(.failure(.closed)) }
        for waiter in waiters { waiter.continuation.resume(returning: .failure(.closed)) }
        socket.close()
        for continuation in closeWaiters { continuation.resume() }
    }

    private static var inboxLimit: Int { ZMQEndpoint.inboxLimit }

    /// Reads what is waiting (at most a batch) and hands it to waiters or the inbox; whether the
    /// socket should still be polled for input.
    private func readIncoming(_ socket: ZMQSocket) -> Bool {
        for _ in 0..<256 {
            let room = state.withLock { !$0.receivingStopped && $0.inbox.count < Self.inboxLimit }
            guard room else { return false }
            let frames: [ZMQFrame]
            do {
                guard let message = try socket.receive() else { return true }
                frames = message
            } catch {
                return true
            }
            let waiter: Waiter? = state.withLock { s in
                if s.waiters.isEmpty {
                    s.inbox.append(frames)
                    return nil
                }
                return s.waiters.removeFirst()
            }
            waiter?.continuation.resume(returning: .success(frames))
        }
        return true
    }
}

import Synchronization

/// One ZeroMQ socket with async send and receive, run by a thread of its own.
///
/// The socket is created, configured, bound and connected in `init`, then handed to a dedicated
/// thread that alone touches it (libzmq sockets are not thread-safe): that thread sends queued
/// messages in order, reads incoming ones into a bounded inbox, and sleeps in `zmq_poll` on the
/// socket and a wake pipe. Async callers only take a lock and signal the pipe, so no
/// Swift-concurrency thread ever blocks on socket I/O.
///
/// `stopReceiving()` ends receiving while answers can still be sent; `close()` (or the last
/// reference going away) fails every pending operation with `TransportError.closed`, closes the
/// socket and joins the thread.
public final class ZMQEndpoint: Sendable {
    /// Messages held for `receive` before the thread stops reading and lets libzmq's high-water
    /// mark push back.
    static let inboxLimit = 1024

    /// The socket's pattern.
    public let type: ZMQSocketType
    /// The resolved address of each bind, in order (`ZMQ_LAST_ENDPOINT`: the real port of
    /// `tcp://127.0.0.1:*`).
    public let boundEndpoints: [String]

    private let context: ZMQContext
    private let loop: EndpointLoop
    private let thread: SocketThread
    private let joined = Mutex(false)

    /// A socket of `type` with `options`, bound to each of `bind` and connected to each of
    /// `connect` (`tcp://host:port`, `tcp://[::1]:port`, `ipc:///path`, `inproc://name`).
    public init(
        _ type: ZMQSocketType,
        context: ZMQContext,
        options: ZMQSocketOptions = ZMQSocketOptions(),
        bind: [String] = [],
        connect: [String] = []
    ) throws(TransportError) {
        let socket = try ZMQSocket(context: context, type: type)
        try socket.apply(options, type: type)
        var bound = [String]()
        for address in bind {
            try socket.bind(address)
            bound.append(try socket.lastEndpoint())
        }
        for address in connect { try socket.connect(address) }
        let loop = EndpointLoop(wake: try WakePipe())
        self.type = type
        self.boundEndpoints = bound
        self.context = context
        self.loop = loop
        self.thread = try SocketThread { loop.run(socket) }
    }

    /// Queues `frames` as one multipart message and returns once libzmq has taken it; throws
    /// `TransportError.timedOut` when the socket could not take it within `timeout` (no peer, or
    /// the high-water mark reached), `.closed` after close, `.zmq` for a refused message (for a
    /// ROUTER, an unknown peer identity).
    public func send(_ frames: [[UInt8]], timeout: Duration? = nil) async throws(TransportError) {
        guard !frames.isEmpty else { throw .emptyMessage }
        let result = await withCheckedContinuation { continuation in
            loop.enqueue(
                EndpointLoop.Send(
                    frames: frames,
                    deadline: timeout.map { .now + $0 },
                    timeout: timeout,
                    continuation: continuation
                )
            )
        }
        try result.get()
    }

    /// Queues `frames` as one multipart message and returns at once, without waiting for libzmq to
    /// take it: messages posted or sent go out in the order they were queued, so a caller can post
    /// while it holds a lock that orders them. When the message cannot be sent within `timeout`, is
    /// refused, or the endpoint closes first, `onFailure` is called with the reason, on the endpoint's
    /// thread (it must be quick and must not wait on this endpoint).
    public func post(
        _ frames: [[UInt8]],
        timeout: Duration? = nil,
        onFailure: (@Sendable (TransportError) -> Void)? = nil
    ) {
        guard !frames.isEmpty else {
            onFailure?(.emptyMessage)
            return
        }
        loop.enqueue(
            EndpointLoop.Send(
                frames: frames,
                deadline: timeout.map { .now + $0 },
                timeout: timeout,
                continuation: nil,
                onFailure: onFailure
            )
        )
    }

    /// Every `interval` from now, the endpoint's own thread calls `messages` and sends the messages
    /// it returns, after everything queued before the call: a schedule that no busy
    /// Swift-concurrency thread can hold up (the thread sleeps in `zmq_poll` until the next tick).
    /// A tick that could not be kept is skipped, not caught up; a message not sent within one
    /// interval is dropped and reported to `onFailure`. `messages` and `onFailure` run on the
    /// endpoint's thread: they must be quick and must not wait on this endpoint. An interval under
    /// a millisecond counts as one millisecond. Replaces an earlier schedule; `stopPeriodicSends()`
    /// or `close()` ends it.
    public func sendPeriodically(
        every interval: Duration,
        onFailure: (@Sendable (TransportError) -> Void)? = nil,
        messages: @escaping @Sendable () -> [[[UInt8]]]
    ) {
        let interval = max(interval, .milliseconds(1))
        loop.schedule(PeriodicSend(interval: interval, next: .now + interval, messages: messages, onFailure: onFailure))
    }

    /// Ends the schedule of `sendPeriodically`: after this returns, `messages` is called at most
    /// once more (by a tick the thread had already begun).
    public func stopPeriodicSends() {
        loop.schedule(nil)
    }

    /// The next incoming multipart message (for a ROUTER, the sender's identity frame first), its
    /// frames still in libzmq's buffers (no copy); throws `TransportError.timedOut` when none
    /// arrives within `timeout`, `.closed` after close.
    public func receive(timeout: Duration? = nil) async throws(TransportError) -> [ZMQFrame] {
        let result = await withCheckedContinuation { continuation in
            loop.wait(
                EndpointLoop.Waiter(deadline: timeout.map { .now + $0 }, timeout: timeout, continuation: continuation)
            )
        }
        return try result.get()
    }

    /// Ends receiving for good while sends go on: every `receive` waiting now and every later one
    /// throws `TransportError.receivingStopped` at once, messages read but not yet received are
    /// dropped, and the socket is no longer read (what arrives stays in libzmq until `close`).
    /// A server calls it to stop taking requests and still answer those it has taken. Calling it
    /// again does nothing more.
    public func stopReceiving() {
        loop.stopReceiving()
    }

    /// Fails pending operations with `.closed`, closes the socket, and waits for the thread to end.
    public func close() async {
        await withCheckedContinuation { continuation in loop.close(continuation) }
        joinOnce()
    }

    /// Starts closing without waiting (for owners that are going away).
    func shutDown() {
        loop.requestClose()
    }

    private func joinOnce() {
        let first = joined.withLock { done in
            defer { done = true }
            return !done
        }
        if first { thread.join() }
    }

    deinit {
        loop.requestClose()
        joinOnce()
    }
}

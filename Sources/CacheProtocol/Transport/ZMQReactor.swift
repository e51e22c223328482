import Glibc
import Synchronization

/// Several ZeroMQ sockets served by one thread of their own: the thread reads every socket and
/// hands each message to a handler on that thread, sends what is queued for each socket in order,
/// runs posted work, and calls a tick handler on a schedule.
///
/// Where a `ZMQEndpoint` gives each socket a thread and hands messages to Swift tasks, a reactor
/// runs a server's logic on the thread that does the socket I/O: a request that arrives on one
/// socket and is forwarded on another crosses no thread but libzmq's own, which is what a relay on
/// the path of every request (the coordinator) needs.
///
/// - Handlers run on the reactor's thread, one at a time: they must be quick and must never wait
///   (a send from a handler is attempted at once, or queued; it never blocks).
/// - Every method may be called from any thread. From the reactor's own thread (handlers, posted
///   work) `send` tries the socket at once; from another thread it queues the message and wakes
///   the reactor, which sends it in the order queued.
/// - A socket is created, configured, bound and connected by `open` on the calling thread, then
///   used by the reactor's thread alone (the lock that hands it over is the memory barrier
///   libzmq asks for when a socket changes threads).
/// - `close()` ends the thread: posted work still queued runs, each queued send is attempted once
///   more, those that cannot go fail with `TransportError.closed`, and every socket closes.
public final class ZMQReactor: Sendable {
    /// A socket of the reactor, named by `open`.
    public struct SocketID: Hashable, Sendable, CustomStringConvertible {
        let rawValue: Int

        public var description: String { "socket \(rawValue)" }
    }

    /// Called on the reactor's thread for each message read (for a ROUTER, the sender's identity
    /// frame first).
    public typealias MessageHandler = @Sendable (_ socket: SocketID, _ frames: [ZMQFrame]) -> Void

    private struct Send: Sendable {
        var frames: [[UInt8]]
        var deadline: ContinuousClock.Instant?
        var timeout: Duration?
        var onFailure: (@Sendable (TransportError) -> Void)?

        func fail(_ error: TransportError) { onFailure?(error) }
    }

    private enum Command: Sendable {
        case adopt(SocketID, ZMQSocket)
        case close(SocketID)
        case send(SocketID, Send)
        case run(@Sendable () -> Void)
    }

    /// What other threads hand the reactor.
    private struct Shared: Sendable {
        var commands: [Command] = []
        var started = false
        var receiving = true
        var closing = false
        var closed = false
        var closeWaiters: [CheckedContinuation<Void, Never>] = []
        var wakePending = false
        var nextSocket = 0
    }

    /// One socket and the messages waiting for it.
    private struct Entry {
        let socket: ZMQSocket
        var queue: [Send] = []
    }

    /// What the reactor's thread alone touches (and `open` before the thread starts).
    private final class Owned: @unchecked Sendable {
        var entries: [SocketID: Entry] = [:]
        var onMessage: MessageHandler = { _, _ in }
        var onFailure: @Sendable (TransportError) -> Void = { _ in }
        var tick: (interval: Duration, handler: @Sendable () -> Void)?
    }

    private let context: ZMQContext
    private let shared = Mutex(Shared())
    private let owned = Owned()
    private let wake: WakePipe
    /// `pthread_self()` of the reactor's thread once it runs, else 0.
    private let loopThreadID = Atomic<UInt>(0)
    private let thread = Mutex<SocketThread?>(nil)

    /// A reactor of `context`'s sockets; nothing runs until `start`.
    public init(context: ZMQContext) throws(TransportError) {
        self.context = context
        self.wake = try WakePipe()
    }

    /// Opens a socket of `type` with `options`, bound to each of `bind` and connected to each of
    /// `connect`; its id, and the resolved address of each bind (the real port of
    /// `tcp://host:*`).
    public func open(
        _ type: ZMQSocketType,
        options: ZMQSocketOptions = ZMQSocketOptions(),
        bind: [String] = [],
        connect: [String] = []
    ) throws(TransportError) -> (id: SocketID, bound: [String]) {
        let socket = try ZMQSocket(context: context, type: type)
        try socket.apply(options, type: type)
        var bound: [String] = []
        for address in bind {
            try socket.bind(address)
            bound.append(try socket.lastEndpoint())
        }
        for address in connect { try socket.connect(address) }
        let (key, started) = shared.withLock { s in
            defer { s.nextSocket += 1 }
            return (SocketID(rawValue: s.nextSocket), s.started)
        }
        if !started || isReactorThread {
            adopt(key, socket)
        } else {
            command(.adopt(key, socket))
        }
        return (key, bound)
    }

    /// Closes the socket `key` (its queued sends fail with `.closed`); nothing if it is closed.
    public func close(_ key: SocketID) {
        if isReactorThread { discard(key) } else { command(.close(key)) }
    }

    /// Sends `frames` as one multipart message on the socket `key`, after whatever is
    /// queued for it. When it cannot be sent within `timeout` (no peer, the high-water mark
    /// reached), is refused (for a ROUTER, an unknown identity), has no socket, or the reactor
    /// closes first, `onFailure` is called with the reason on the reactor's thread.
    public func send(
        _ frames: [[UInt8]],
        on key: SocketID,
        timeout: Duration? = nil,
        onFailure: (@Sendable (TransportError) -> Void)? = nil
    ) {
        let message = Send(frames: frames, deadline: timeout.map { .now + $0 }, timeout: timeout, onFailure: onFailure)
        guard !frames.isEmpty else { return message.fail(.emptyMessage) }
        if isReactorThread {
            sendNow(message, on: key)
        } else {
            command(.send(key, message))
        }
    }

    /// Runs `work` on the reactor's thread, after the work and sends queued before it.
    public func post(_ work: @escaping @Sendable () -> Void) {
        command(.run(work))
    }

    /// Starts the thread: every message read goes to `onMessage`; with `tickInterval`, `onTick`
    /// runs every interval (on a schedule; a tick that could not be kept is skipped). When
    /// polling fails (the context is terminated), the reactor closes as `close()` would and
    /// `onFailure` gets the error. Call once; the reactor lives until `close()` ends the thread.
    public func start(
        tickInterval: Duration? = nil,
        onTick: @escaping @Sendable () -> Void = {},
        onFailure: @escaping @Sendable (TransportError) -> Void = { _ in },
        onMessage: @escaping MessageHandler
    ) throws(TransportError) {
        owned.onMessage = onMessage
        owned.onFailure = onFailure
        owned.tick = tickInterval.map { (max($0, .milliseconds(1)), onTick) }
        shared.withLock { $0.started = true }
        let started = try SocketThread { [self] in run() }
        thread.withLock { $0 = started }
    }

    /// Stops reading every socket for good (what arrives stays in libzmq until close); sends,
    /// ticks and posted work go on. A server calls it to stop taking requests and still answer
    /// those it has taken.
    public func stopReceiving() {
        shared.withLock { $0.receiving = false }
        wake.wake()
    }

    /// Runs what is posted, attempts each queued send once more, fails the rest with `.closed`,
    /// closes every socket and waits for the thread to end.
    public func close() async {
        let running = thread.withLock { $0 != nil }
        if running {
            await withCheckedContinuation { continuation in
                let done = shared.withLock { s in
                    s.closing = true
                    if !s.closed { s.closeWaiters.append(continuation) }
                    return s.closed
                }
                if done { continuation.resume() } else { wake.wake() }
            }
        } else {
            shared.withLock { $0.closed = true }
            closeAll()
        }
        let joining = thread.withLock { thread in
            defer { thread = nil }
            return thread
        }
        joining?.join()
    }

    deinit {
        // A started reactor lives until `close()` ends its thread (the thread holds it).
        closeAll()
    }

    // MARK: The reactor's thread

    private var isReactorThread: Bool {
        loopThreadID.load(ordering: .relaxed) == UInt(pthread_self())
    }

    private func command(_ command: Command) {
        let (accepted, needsWake): (Bool, Bool) = shared.withLock { s in
            guard !s.closed else { return (false, false) }
            s.commands.append(command)
            defer { s.wakePending = true }
            return (true, !s.wakePending)
        }
        if !accepted {
            if case .send(_, let message) = command { message.fail(.closed) }
            if case .adopt(_, let socket) = command { socket.close() }
            return
        }
        if needsWake { wake.wake() }
    }

    private func run() {
        loopThreadID.store(UInt(pthread_self()), ordering: .relaxed)
        var nextTick = owned.tick.map { ContinuousClock.now + $0.interval }
        while true {
            wake.drain()
            let (commands, receiving, closing) = shared.withLock { s in
                defer {
                    s.commands.removeAll()
                    s.wakePending = false
                }
                return (s.commands, s.receiving, s.closing)
            }
            perform(commands)
            if closing { break }
            for (key, entry) in owned.entries where !entry.queue.isEmpty { flush(key) }
            let now = ContinuousClock.now
            expireSends(at: now)
            if let tick = owned.tick, let due = nextTick, due <= now {
                tick.handler()
                nextTick = due + tick.interval
                if let next = nextTick, next < now { nextTick = now + tick.interval }
            }
            if receiving, !readIncoming() { continue }
            if let failure = poll(reading: receiving, until: nextTick) {
                owned.onFailure(failure)
                break
            }
        }
        // Closing: from here on every command is refused (`.closed`); what was queued before runs,
        // each queued send gets one more attempt, then the sockets close.
        let (late, waiters) = shared.withLock { s in
            s.closing = true
            s.closed = true
            defer {
                s.commands.removeAll()
                s.closeWaiters.removeAll()
            }
            return (s.commands, s.closeWaiters)
        }
        perform(late)
        for (key, entry) in owned.entries where !entry.queue.isEmpty { flush(key) }
        closeAll()
        for waiter in waiters { waiter.resume() }
    }

    private func perform(_ commands: [Command]) {
        for command in commands {
            switch command {
            case .adopt(let key, let socket): adopt(key, socket)
            case .close(let key): discard(key)
            case .send(let key, let message): enqueue(message, on: key)
            case .run(let work): work()
            }
        }
    }

    private func adopt(_ key: SocketID, _ socket: ZMQSocket) {
        discard(key)
        owned.entries[key] = Entry(socket: socket)
    }

    private func discard(_ key: SocketID) {
        guard let entry = owned.entries.removeValue(forKey: key) else { return }
        entry.socket.close()
        for message in entry.queue { message.fail(.closed) }
    }

    private func closeAll() {
        let entries = owned.entries
        owned.entries.removeAll()
        for entry in entries.values {
            entry.socket.close()
            for message in entry.queue { message.fail(.closed) }
        }
    }

    private func enqueue(_ message: Send, on key: SocketID) {
        guard owned.entries[key] != nil else { return message.fail(.closed) }
        owned.entries[key]?.queue.append(message)
    }

    /// Sends `message` at once when nothing is queued before it, else queues it.
    private func sendNow(_ message: Send, on key: SocketID) {
        guard let entry = owned.entries[key] else { return message.fail(.closed) }
        guard entry.queue.isEmpty else {
            owned.entries[key]?.queue.append(message)
            return
        }
        do {
            if try !entry.socket.send(message.frames) { owned.entries[key]?.queue.append(message) }
        } catch {
            message.fail(error)
        }
    }

    /// Sends what is queued on `key`'s socket until it would block.
    private func flush(_ key: SocketID) {
        guard let entry = owned.entries[key], !entry.queue.isEmpty else { return }
        var sent = 0
        var failures: [(Send, TransportError)] = []
        for message in entry.queue {
            do {
                guard try entry.socket.send(message.frames) else { break }
            } catch {
                failures.append((message, error))
            }
            sent += 1
        }
        owned.entries[key]?.queue.removeFirst(sent)
        for (message, error) in failures { message.fail(error) }
    }

    private func expireSends(at now: ContinuousClock.Instant) {
        var expired: [Send] = []
        for (key, entry) in owned.entries where entry.queue.contains(where: { $0.deadline.map { $0 <= now } ?? false })
        {
            owned.entries[key]?.queue.removeAll { message in
                guard let deadline = message.deadline, deadline <= now else { return false }
                expired.append(message)
                return true
            }
        }
        for message in expired { message.fail(.timedOut(operation: "send", timeout: message.timeout ?? .zero)) }
    }

    /// Reads at most a batch from each socket, handing every message to the handler; false when
    /// a socket still has more (the caller loops again before sleeping).
    private func readIncoming() -> Bool {
        var drained = true
        for (key, entry) in owned.entries {
            for index in 0..<Self.readBatch {
                // A handler may have closed the socket.
                guard owned.entries[key] != nil else { break }
                let socket = entry.socket
                let frames: [ZMQFrame]
                do {
                    guard let message = try socket.receive() else { break }
                    frames = message
                } catch {
                    break
                }
                owned.onMessage(key, frames)
                if index + 1 == Self.readBatch { drained = false }
            }
        }
        return drained
    }

    /// Sleeps until a socket is readable (when `reading`) or can take a queued send, the wake pipe
    /// is written, `tick` comes, or a queued send's deadline passes; the error when polling fails.
    private func poll(reading: Bool, until tick: ContinuousClock.Instant?) -> TransportError? {
        var items: [ZMQPoller.Item] = []
        var deadline = tick
        for entry in owned.entries.values {
            let writing = !entry.queue.isEmpty
            guard reading || writing else { continue }
            items.append(ZMQPoller.Item(socket: entry.socket, read: reading, write: writing))
            if let first = entry.queue.lazy.compactMap({ $0.deadline }).min() {
                deadline = min(deadline ?? first, first)
            }
        }
        let timeout = deadline.map { ZMQPoller.milliseconds(until: $0, from: .now) } ?? -1
        do {
            try ZMQPoller.wait(items, wakeFD: wake.readFD, timeoutMilliseconds: timeout)
            return nil
        } catch {
            return error
        }
    }

    private static var readBatch: Int { 64 }
}

import Glibc

/// A joinable POSIX thread that runs one closure: the thread an endpoint's socket lives on, so that
/// socket I/O never blocks a Swift-concurrency thread.
final class SocketThread: Sendable {
    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    private let thread: pthread_t

    init(_ run: @escaping @Sendable () -> Void) throws(TransportError) {
        let body = Unmanaged.passRetained(Body(run)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(
            &thread,
            nil,
            { argument in
                if let argument { Unmanaged<Body>.fromOpaque(argument).takeRetainedValue().run() }
                return nil
            },
            body
        )
        guard rc == 0 else {
            Unmanaged<Body>.fromOpaque(body).release()
            throw .system(operation: "pthread_create", code: rc)
        }
        self.thread = thread
    }

    /// Waits for the closure to return. Call once.
    func join() {
        pthread_join(thread, nil)
    }
}

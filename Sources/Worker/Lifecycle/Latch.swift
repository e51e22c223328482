import Synchronization

/// A gate that opens once and stays open: tasks waiting on it resume when it opens, without
/// polling. A wait also ends when the waiting task is cancelled, so it can be raced against a
/// timeout or torn down with its task group; `isOpen` tells the two endings apart.
final class Latch: Sendable {
    private typealias Waiter = CheckedContinuation<Void, Never>

    private struct State {
        var isOpen = false
        var waiters: [UInt64: Waiter] = [:]
        /// Waits whose task was cancelled before they were registered.
        var cancelled: Set<UInt64> = []
        var nextWaiter: UInt64 = 0
    }

    private let state = Mutex(State())

    /// A closed latch.
    init() {}

    /// Whether the latch has opened.
    var isOpen: Bool { state.withLock { $0.isOpen } }

    /// Opens the latch and resumes every waiter; later calls do nothing.
    func open() {
        let waiters: [Waiter] = state.withLock { s in
            guard !s.isOpen else { return [] }
            s.isOpen = true
            defer { s.waiters.removeAll() }
            return Array(s.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once the latch is open, or as soon as the calling task is cancelled (at once if it
    /// already is).
    func wait() async {
        let id: UInt64 = state.withLock { s in
            defer { s.nextWaiter &+= 1 }
            return s.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: Waiter) in
                let resumeNow: Bool = state.withLock { s in
                    if s.isOpen || s.cancelled.remove(id) != nil { return true }
                    s.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter: Waiter? = state.withLock { s in
                if let waiter = s.waiters.removeValue(forKey: id) { return waiter }
                if !s.isOpen { s.cancelled.insert(id) }
                return nil
            }
            waiter?.resume()
        }
    }
}

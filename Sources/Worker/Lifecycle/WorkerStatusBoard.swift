import Synchronization

/// The worker's status as its service last published it (after each request it answers), readable
/// from any task without going through the service actor. Heartbeats read it, so a kernel call
/// that keeps the actor busy for seconds cannot delay them; the status they carry is the one of the
/// last answered request.
///
/// It also tells when a drain has ended: `drained` opens the first time the service publishes that
/// it is draining and has no open sequence left.
final class WorkerStatusBoard: Sendable {
    private struct Entry {
        var load: CoordinatorLink.Status
        var draining: Bool
    }

    private let entry: Mutex<Entry>
    /// Opens once the worker is draining and its last sequence has closed (at once when a drain
    /// finds none open).
    let drained = Latch()

    /// A board showing `load`, not draining.
    init(load: CoordinatorLink.Status) {
        entry = Mutex(Entry(load: load, draining: false))
    }

    /// Open sequences, free hot pages and cached pages, as last published.
    var load: CoordinatorLink.Status { entry.withLock { $0.load } }

    /// Whether the last publication said the worker is draining.
    var isDraining: Bool { entry.withLock { $0.draining } }

    /// Replaces the status; opens `drained` when the worker is draining with no open sequence.
    func publish(_ load: CoordinatorLink.Status, draining: Bool) {
        entry.withLock { $0 = Entry(load: load, draining: draining) }
        if draining && load.liveSequences == 0 { drained.open() }
    }
}

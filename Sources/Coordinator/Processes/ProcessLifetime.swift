import Foundation
import Synchronization

/// Whether a child process still runs, how it ended, and whether its owner had signalled it by
/// then: written by the launcher's termination handler and by the owner's stop calls.
final class ProcessLifetime: Sendable {
    private let state = Mutex(State())

    private struct State {
        var exit: ProcessExit?
        var signalled = false
        var endedOnItsOwn = false
    }

    /// Records that the owner is about to signal the process.
    func signalling() {
        state.withLock { $0.signalled = true }
    }

    /// Records the process's end.
    func ended(_ exit: ProcessExit) {
        state.withLock { state in
            state.exit = exit
            state.endedOnItsOwn = !state.signalled
        }
    }

    /// How the process ended; nil while it runs.
    var exit: ProcessExit? {
        state.withLock { $0.exit }
    }

    /// How the process ended, when it ended before its owner signalled it.
    var exitOnItsOwn: ProcessExit? {
        state.withLock { $0.endedOnItsOwn ? $0.exit : nil }
    }

    /// Waits until the process has ended or `deadline` has passed: how it ended, or nil.
    func waitForExit(until deadline: ContinuousClock.Instant) -> ProcessExit? {
        while true {
            if let exit { return exit }
            if ContinuousClock.now >= deadline { return nil }
            Thread.sleep(forTimeInterval: 0.002)
        }
    }
}

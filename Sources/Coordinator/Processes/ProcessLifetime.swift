import Foundation
import Glibc
import Synchronization

/// Whether a child process still runs, how it ended, and whether its owner had signalled it by
/// then: written by the thread that waits for the child (`watch`) and by the owner's stop calls.
final class ProcessLifetime: Sendable {
    private let state = Mutex(State())

    private struct State {
        var exit: ProcessExit?
        var signalled = false
        var endedOnItsOwn = false
    }

    /// Waits for child `pid` to end on a thread of its own (`waitpid`, which also reaps it) and
    /// records how it ended.
    func watch(_ pid: pid_t) {
        let thread = Thread { [self] in
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 {
                guard errno == EINTR else {
                    // Not a child of this process any more (reaped elsewhere): its end is unknown.
                    ended(.signalled(0))
                    return
                }
            }
            // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import (they are macros).
            if status & 0x7F == 0 {
                ended(.exited((status >> 8) & 0xFF))
            } else {
                ended(.signalled(status & 0x7F))
            }
        }
        thread.name = "process-wait"
        thread.start()
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

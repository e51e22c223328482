import CLinux
import Glibc

/// Ends this process when the process that launched it is gone: the child's half of the contract
/// between a launcher (`LaunchedProcess` in the Coordinator library) and the executables it starts,
/// `mfa-worker` and `mfa-coordinator`, which call `startIfRequested()` first thing.
///
/// The launcher puts its own process id in `environmentVariable`. Here a detached thread opens a
/// pidfd of that process (`pidfd_open(2)`, Linux 5.3 and later) and blocks in `poll(2)` on it:
/// the descriptor becomes readable when the launcher exits, and the thread then sends this process
/// SIGKILL. So whatever kills the launcher — a SIGKILL to a test run, a crash — its children follow
/// at once, instead of running on re-parented to init; nothing wakes up before that. After opening
/// the descriptor, the watch checks that the launcher is still this process's parent, so a
/// launcher that died while this process was starting is caught as well.
///
/// Why not `PR_SET_PDEATHSIG` (or `setpriv --pdeathsig`): that signal follows the *thread* that
/// spawned the child, not its process. Foundation's `Process` spawns from whichever thread calls
/// `run()`, and the threads of Swift concurrency and Dispatch come and go, so a child would be
/// killed while its launcher is alive and well. A pidfd names the parent process (the thread group),
/// which becomes readable only when the whole process has exited: this watch cannot fire early.
/// Nor an inherited pipe whose end-of-file means the parent died: `Process` closes every
/// descriptor above stderr in the child, and siblings spawned concurrently could hold each
/// other's write ends open.
///
/// SIGKILL rather than a graceful stop: an orphan has no one left to report to, and the disk tier
/// is written to survive a crash.
public enum ParentWatch {
    /// The environment variable that carries the launcher's process id to the child.
    public static let environmentVariable = "MFA_PARENT_PID"

    /// When `environmentVariable` holds a process id, removes the variable (so that processes
    /// this one starts by other means do not inherit a parent that is not theirs) and starts the
    /// watch; without it, does nothing. A watch that cannot start is reported on stderr, and the
    /// process runs on unwatched.
    public static func startIfRequested() {
        guard let value = getenv(environmentVariable), let parent = pid_t(String(cString: value)), parent > 0 else {
            return
        }
        unsetenv(environmentVariable)
        let descriptor = mfa_pidfd_open(parent)
        guard descriptor >= 0 else {
            report("cannot watch the parent process \(parent): pidfd_open failed (errno \(errno))")
            return
        }
        guard getppid() == parent else {
            kill(getpid(), SIGKILL)
            return
        }
        // The descriptor travels as the thread's argument, so the thread shares no state.
        let watch: @convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? = { argument in
            var exited = pollfd(
                fd: Int32(truncatingIfNeeded: Int(bitPattern: argument)),
                events: Int16(POLLIN),
                revents: 0
            )
            while poll(&exited, 1, -1) < 0 && errno == EINTR {}
            kill(getpid(), SIGKILL)
            return nil
        }
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, watch, UnsafeMutableRawPointer(bitPattern: Int(descriptor)))
        guard rc == 0 else {
            report("cannot watch the parent process \(parent): pthread_create failed (\(rc))")
            close(descriptor)
            return
        }
        pthread_detach(thread)
    }

    /// Writes `line` to standard error (the watch starts before any logging is set up).
    private static func report(_ line: String) {
        let message = Array("\(line)\n".utf8)
        _ = message.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }
}

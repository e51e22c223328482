import Glibc

/// Ends this process when the process that launched it is gone: the child's half of the contract
/// between a launcher (`LaunchedProcess` in the Coordinator library) and the executables it starts,
/// `mfa-worker` and `mfa-coordinator`, which call `startIfRequested()` first thing.
///
/// The launcher puts its own process id in `environmentVariable`. Here a detached thread compares
/// `getppid()` with it every `interval`; when they differ, the launcher has died (the kernel
/// re-parents an orphan to init or to a subreaper) and the thread sends this process SIGKILL. So
/// whatever kills the launcher — a SIGKILL to a test run, a crash — its children follow within
/// about `interval`, instead of running on re-parented to init. The first comparison runs before
/// anything else, so a launcher that died while this process was starting is caught as well.
///
/// Why not `PR_SET_PDEATHSIG` (or `setpriv --pdeathsig`): that signal follows the *thread* that
/// spawned the child, not its process. Foundation's `Process` spawns from whichever thread calls
/// `run()`, and the threads of Swift concurrency and Dispatch come and go, so a child would be
/// killed while its launcher is alive and well. `getppid()` names the parent process (the thread
/// group), which changes only when the whole process has exited: this watch cannot fire early.
/// Nor an inherited pipe whose end-of-file means the parent died: `Process` closes every
/// descriptor above stderr in the child, and siblings spawned concurrently could hold each
/// other's write ends open.
///
/// SIGKILL rather than a graceful stop: an orphan has no one left to report to, and the disk tier
/// is written to survive a crash.
public enum ParentWatch {
    /// The environment variable that carries the launcher's process id to the child.
    public static let environmentVariable = "MFA_PARENT_PID"

    /// How often the watch thread compares the parent's process id.
    public static let interval: Duration = .milliseconds(100)

    /// `interval` in microseconds, as `usleep` takes it.
    private static var intervalMicroseconds: useconds_t {
        let (seconds, attoseconds) = interval.components
        return useconds_t(seconds * 1_000_000 + attoseconds / 1_000_000_000_000)
    }

    /// When `environmentVariable` holds a process id, removes the variable (so that processes
    /// this one starts by other means do not inherit a parent that is not theirs) and starts the
    /// watch; without it, does nothing. A watch that cannot start is reported on stderr, and the
    /// process runs on unwatched.
    public static func startIfRequested() {
        guard let value = getenv(environmentVariable), let parent = pid_t(String(cString: value)), parent > 0 else {
            return
        }
        unsetenv(environmentVariable)
        // The parent's id travels as the thread's argument, so the thread shares no state.
        let watch: @convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? = { argument in
            let parent = pid_t(truncatingIfNeeded: Int(bitPattern: argument))
            while getppid() == parent { usleep(ParentWatch.intervalMicroseconds) }
            kill(getpid(), SIGKILL)
            return nil
        }
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, watch, UnsafeMutableRawPointer(bitPattern: Int(parent)))
        guard rc == 0 else {
            let message = Array("cannot watch the parent process \(parent): pthread_create failed (\(rc))\n".utf8)
            _ = message.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
            return
        }
        pthread_detach(thread)
    }
}

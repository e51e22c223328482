import Foundation

/// A task executor with a thread of its own: a task that prefers it runs there as soon as it can
/// continue, never waiting for a thread of the shared pool that other tests may keep busy. Tests use
/// it to take the time a message arrives. `stop()` ends the thread once the jobs queued are run.
final class DedicatedThreadExecutor: TaskExecutor, @unchecked Sendable {
    // `@unchecked`: `jobs` and `stopped` are only touched with `condition` locked.
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var stopped = false

    /// Starts the thread.
    init() {
        let thread = Thread { [self] in runJobs() }
        thread.name = "test dedicated executor"
        thread.start()
    }

    /// Queues `job` for the thread.
    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Lets the thread end after the queued jobs.
    func stop() {
        condition.lock()
        stopped = true
        condition.signal()
        condition.unlock()
    }

    private func runJobs() {
        while true {
            condition.lock()
            while jobs.isEmpty && !stopped { condition.wait() }
            guard !jobs.isEmpty else {
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}

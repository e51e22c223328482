import CLinux
import Dispatch
import Glibc
import Synchronization

/// Threads bound one to each CPU the process may run on, which run the workers of a kernel call
/// beside the calling thread, each on a CPU other than the caller's.
///
/// Left to the scheduler, the threads of a call are sometimes woken onto the CPU of the thread that
/// woke them while another CPU is briefly busy, and stay there after it goes idle: the call then
/// runs its workers one after the other on one CPU and takes up to twice as long. Threads bound
/// to distinct CPUs cannot end up sharing one. Where another process keeps a CPU busy, the worker
/// bound there claims fewer items (work is claimed, not assigned), so the call still ends when the
/// items do.
///
/// One call uses the pool at a time; a call made while another runs does not wait for it
/// (`run` returns false and the caller spreads its work another way). The threads live as long as
/// the process and sleep between calls.
final class BoundThreadPool: Sendable {
    /// The pool of the process, made on first use.
    static let shared = BoundThreadPool()

    /// The CPUs the process may run on (its affinity when the pool was made), ascending.
    let cpus: [Int32]
    private let helpers: [Helper]
    private let busy = Mutex(false)

    /// A pool with a thread bound to each CPU the process may run on (none on a single CPU).
    /// Its threads end when the pool goes away.
    init() {
        let cpus = Self.allowedCPUs()
        self.cpus = cpus
        helpers = cpus.count > 1 ? cpus.compactMap { Helper(cpu: $0) } : []
    }

    deinit {
        for helper in helpers { helper.stop() }
    }

    /// Runs `body(0)` on the calling thread and `body(1)` … `body(workers − 1)` on threads bound to
    /// other CPUs than the caller's, and returns once all have returned; false, with nothing run,
    /// when the pool is in use by another call or has fewer than `workers − 1` such threads.
    func run(workers: Int, _ body: (Int) -> Void) -> Bool {
        guard workers > 1 else {
            body(0)
            return true
        }
        let current = mfa_current_cpu()
        let chosen = helpers.filter { $0.cpu != current }.prefix(workers - 1)
        guard chosen.count == workers - 1,
            busy.withLock({ busy in
                defer { busy = true }
                return !busy
            })
        else { return false }
        defer { busy.withLock { $0 = false } }
        withoutActuallyEscaping(body) { body in
            let job = Job(body)
            for (index, helper) in chosen.enumerated() { helper.start(job, worker: index + 1) }
            body(0)
            for helper in chosen { helper.wait() }
        }
        return true
    }

    /// The CPUs in the calling thread's affinity mask; `[]` when it cannot be read.
    private static func allowedCPUs() -> [Int32] {
        var mask = [UInt8](repeating: 0, count: 128)
        let written = mask.withUnsafeMutableBufferPointer { mfa_thread_affinity($0.baseAddress, Int32($0.count)) }
        guard written > 0 else { return [] }
        var cpus: [Int32] = []
        for byte in 0..<Int(written) where mask[byte] != 0 {
            for bit in 0..<8 where mask[byte] & (1 << bit) != 0 { cpus.append(Int32(byte * 8 + bit)) }
        }
        return cpus
    }

    /// A call's body, handed to the helpers for the duration of the call.
    private final class Job: @unchecked Sendable {
        let body: (Int) -> Void
        init(_ body: @escaping (Int) -> Void) { self.body = body }
    }

    /// One thread bound to `cpu`, sleeping until handed a worker to run.
    private final class Helper: Sendable {
        private enum Assignment {
            case idle
            case work(Job, worker: Int)
            case stop
        }

        let cpu: Int32
        private let assignment = Mutex(Assignment.idle)
        private let wake = DispatchSemaphore(value: 0)
        private let done = DispatchSemaphore(value: 0)

        /// A helper whose thread is started and bound to `cpu`; nil when the thread cannot start.
        init?(cpu: Int32) {
            self.cpu = cpu
            let box = Unmanaged.passRetained(self).toOpaque()
            var thread = pthread_t()
            let rc = pthread_create(
                &thread,
                nil,
                { argument in
                    if let argument { Unmanaged<Helper>.fromOpaque(argument).takeRetainedValue().serve() }
                    return nil
                },
                box
            )
            guard rc == 0 else {
                Unmanaged<Helper>.fromOpaque(box).release()
                return nil
            }
            pthread_detach(thread)
        }

        /// Runs `worker` of `job` on the helper's thread.
        func start(_ job: Job, worker: Int) {
            assignment.withLock { $0 = .work(job, worker: worker) }
            wake.signal()
        }

        /// Ends the thread once it is idle.
        func stop() {
            assignment.withLock { $0 = .stop }
            wake.signal()
        }

        /// Waits for the worker handed by `start` to return.
        func wait() {
            done.wait()
        }

        private func serve() {
            _ = mfa_bind_current_thread(cpu)
            while true {
                wake.wait()
                switch runAssigned() {
                case .idle: continue
                case .stop: return
                // The job is let go before `done` is signalled (it was `runAssigned`'s alone): the
                // caller's body must not outlive the call.
                case .work: done.signal()
                }
            }
        }

        /// What the helper was handed, after running it if it was work; the job itself is not
        /// returned, so it is released when this returns.
        private enum Outcome {
            case idle, work, stop
        }

        private func runAssigned() -> Outcome {
            let taken = assignment.withLock { assignment in
                defer { if case .work = assignment { assignment = .idle } }
                return assignment
            }
            switch taken {
            case .idle: return .idle
            case .stop: return .stop
            case .work(let job, let worker):
                job.body(worker)
                return .work
            }
        }
    }
}

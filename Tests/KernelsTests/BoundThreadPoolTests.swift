import CLinux
import Glibc
import Synchronization
import Testing

@testable import Kernels

/// `BoundThreadPool`: a call's workers run beside the caller, on other CPUs than the caller's. Each
/// test makes a pool of its own: the shared one serves the kernel tests running beside it.
@Suite("Bound thread pool")
struct BoundThreadPoolTests {
    @Test("every worker runs once; helpers run on CPUs other than the caller's")
    func workersRunOnce() throws {
        let pool = BoundThreadPool()
        try #require(pool.cpus.count > 1, "this machine lets the process run on \(pool.cpus.count) CPU")
        let workers = pool.cpus.count
        let runs = Mutex<[Int: Int32]>([:])
        let caller = pthread_self()
        let callerThread = Mutex<Bool>(false)
        let ran = pool.run(workers: workers) { worker in
            let cpu = mfa_current_cpu()
            runs.withLock { $0[worker] = cpu }
            if worker == 0 { callerThread.withLock { $0 = pthread_equal(pthread_self(), caller) != 0 } }
        }
        #expect(ran)
        let seen = runs.withLock { $0 }
        #expect(Set(seen.keys) == Set(0..<workers))
        #expect(callerThread.withLock { $0 })
        let helperCPUs = (1..<workers).compactMap { seen[$0] }
        #expect(Set(helperCPUs).count == workers - 1, "helpers share a CPU: \(seen)")
    }

    @Test("a call made while another uses the pool is refused, not queued")
    func busyPoolRefuses() throws {
        let pool = BoundThreadPool()
        try #require(pool.cpus.count > 1, "this machine lets the process run on \(pool.cpus.count) CPU")
        let inner = Mutex<Bool?>(nil)
        let ran = pool.run(workers: 2) { worker in
            guard worker == 0 else { return }
            inner.withLock { $0 = pool.run(workers: 2) { _ in } }
        }
        #expect(ran)
        #expect(inner.withLock { $0 } == false)
        #expect(pool.run(workers: 2) { _ in })
    }
}

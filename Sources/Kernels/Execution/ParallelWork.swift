import Dispatch
import Synchronization

/// Splits a call into numbered work items and runs them on worker threads that pull items from a
/// shared atomic counter: the calling thread and threads of `BoundThreadPool` bound to other CPUs,
/// or Dispatch's threads when the pool is in use by another call.
///
/// Every item is claimed by exactly one worker, so as long as an item's result depends only on the
/// item, results are identical whatever the thread count or the order in which workers run.
enum ParallelWork {
    /// Runs `worker` on `min(threads, itemCount)` threads (inline when that is 1). Each call of
    /// `worker` receives a `claim` function returning the next unclaimed item in `0..<itemCount`,
    /// or `nil` when none is left; a worker typically sets up its scratch space, then loops on `claim`.
    static func run(itemCount: Int, threads: Int, worker: @Sendable (_ claim: () -> Int?) -> Void) {
        guard itemCount > 0 else { return }
        let counter = Atomic<Int>(0)
        let workers = min(max(threads, 1), itemCount)
        if workers == 1 {
            worker { claimNext(counter, itemCount) }
        } else if !BoundThreadPool.shared.run(workers: workers, { _ in worker { claimNext(counter, itemCount) } }) {
            DispatchQueue.concurrentPerform(iterations: workers) { _ in
                worker { claimNext(counter, itemCount) }
            }
        }
    }

    private static func claimNext(_ counter: borrowing Atomic<Int>, _ itemCount: Int) -> Int? {
        let item = counter.wrappingAdd(1, ordering: .relaxed).oldValue
        return item < itemCount ? item : nil
    }
}

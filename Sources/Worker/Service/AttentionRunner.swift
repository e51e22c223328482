import Dispatch
import Kernels
import Synchronization

/// Where the worker's attention kernels run: a thread of their own (a serial dispatch queue), from
/// which each kernel call spreads its work items over the kernels' worker threads. The awaiting
/// task is suspended meanwhile, so no task of the cooperative pool, no socket thread and no lock
/// around the instance is held while a kernel computes. One job runs at a time, in the order they
/// are handed in.
final class AttentionRunner: Sendable {
    private let queue = DispatchQueue(label: "mfa-worker.attention", qos: .userInitiated)

    /// A runner with its own queue.
    init() {}

    /// Runs the calls one after the other and returns their results, or the first refusal. The
    /// queue lets go of the calls (and so of their pools) before the caller resumes, so the next
    /// write to the instance's pool does not find its storage shared with a finished job.
    func run(_ calls: [AttentionCall]) async -> AttentionOutcome {
        let handoff = Handoff(calls)
        return await withCheckedContinuation { continuation in
            queue.async {
                let outcome = Self.compute(handoff.take())
                continuation.resume(returning: outcome)
            }
        }
    }

    /// `PagedAttention.run` of every call, in order, on the calling thread.
    static func compute(_ calls: [AttentionCall]) -> AttentionOutcome {
        var results: [AttentionResult] = []
        results.reserveCapacity(calls.count)
        for (index, call) in calls.enumerated() {
            do throws(KernelError) {
                results.append(
                    try PagedAttention.run(
                        q: call.q,
                        queryLength: call.queryLength,
                        queryHeads: call.queryHeads,
                        pool: call.pool,
                        blockTables: call.blockTables,
                        kvLengths: call.kvLengths,
                        options: call.options
                    )
                )
            } catch {
                return .refused(call: index, error)
            }
        }
        return .computed(results)
    }

    /// Calls handed to the queue, taken out once.
    private final class Handoff: Sendable {
        private let calls: Mutex<[AttentionCall]>

        init(_ calls: [AttentionCall]) {
            self.calls = Mutex(calls)
        }

        /// The calls; the handoff keeps none.
        func take() -> [AttentionCall] {
            calls.withLock { calls in
                defer { calls = [] }
                return calls
            }
        }
    }
}

import Dispatch
import Kernels

/// Where the worker's attention kernels run: a thread of their own (a serial dispatch queue), from
/// which each kernel call spreads its work items over the kernels' worker threads. The awaiting
/// task is suspended meanwhile, so no task of the cooperative pool, no socket thread and no lock
/// around the instance is held while a kernel computes. One job runs at a time, in the order they
/// are handed in.
final class AttentionRunner: Sendable {
    private let queue = DispatchQueue(label: "mfa-worker.attention", qos: .userInitiated)

    /// A runner with its own queue.
    init() {}

    /// Runs the calls one after the other and returns their results, or the first refusal.
    func run(_ calls: [AttentionCall]) async -> AttentionOutcome {
        await withCheckedContinuation { continuation in
            queue.async {
                continuation.resume(returning: Self.compute(calls))
            }
        }
    }

    /// `PagedAttention.run` of every call, in order, on the calling thread.
    static func compute(_ calls: [AttentionCall]) -> AttentionOutcome {
        var results: [AttentionResult] = []
        results.reserveCapacity(calls.count)
        for (index, call) in calls.enumerated() {
            do throws(KernelError) {
                results.append(try PagedAttention.run(
                    q: call.q, queryLength: call.queryLength, queryHeads: call.queryHeads, pool: call.pool,
                    blockTables: call.blockTables, kvLengths: call.kvLengths, options: call.options))
            } catch {
                return .refused(call: index, error)
            }
        }
        return .computed(results)
    }
}

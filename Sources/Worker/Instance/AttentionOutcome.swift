import Kernels

/// What running an `AttentionJob` gave: one result per call, or the kernel's refusal of a call.
enum AttentionOutcome: Sendable, Equatable {
    /// Every call ran; the results in call order.
    case computed([AttentionResult])
    /// The call at index `call` was refused by the kernel (the later calls were not run).
    case refused(call: Int, KernelError)
}

/// What a worker does, with its one-byte wire code.
public enum WorkerRole: UInt8, Sendable, Hashable, CaseIterable {
    /// Holds sequences and runs attention; also caches prefix pages. Code 0.
    case compute = 0
    /// Only stores prefix pages for other workers (an offload tier). Code 1.
    case store = 1
}

/// Why the coordinator benchmark stopped.
public enum CoordinatorBenchmarkError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The simulated cluster did not behave as the benchmark expects (a refused registration, an
    /// open that went nowhere): the figures would mean nothing.
    case unexpected(String)

    /// A readable account.
    public var description: String {
        switch self {
        case .unexpected(let what): "the coordinator benchmark's simulated cluster went wrong: \(what)"
        }
    }
}

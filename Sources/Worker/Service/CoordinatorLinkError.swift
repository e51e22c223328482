/// Why the worker's link to the coordinator ended serving.
public enum CoordinatorLinkError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The coordinator refused the worker's registration (another model, no room for more
    /// workers, an empty endpoint); the worker shuts down.
    case refused(reason: String)

    /// What happened, in one sentence.
    public var description: String {
        switch self {
        case .refused(let reason): "the coordinator refused this worker: \(reason)"
        }
    }
}

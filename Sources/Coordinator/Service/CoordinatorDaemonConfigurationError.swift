/// Why `mfa-coordinator serve`'s command line was refused.
public enum CoordinatorDaemonConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A model spec that does not parse.
    case invalidModel(String)
    /// An option whose value is impossible, or options that do not go together.
    case invalidOption(String)

    /// What is wrong, in one sentence.
    public var description: String {
        switch self {
        case .invalidModel(let why): "--model: \(why)"
        case .invalidOption(let why): why
        }
    }
}

/// Why the worker's command line was refused.
public enum ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A size that is not a byte count with a known unit.
    case invalidByteSize(String)
    /// A model spec that does not parse.
    case invalidModel(String)
    /// An option whose value is impossible, or options that do not go together.
    case invalidOption(String)

    /// What is wrong, in one sentence.
    public var description: String {
        switch self {
        case .invalidByteSize(let text):
            "`\(text)` is not a size: write bytes, or a number with B, kB, MB, GB, TB, KiB, MiB, GiB or TiB"
        case .invalidModel(let why): "--model: \(why)"
        case .invalidOption(let why): why
        }
    }
}

import Kernels

/// Why `bench kernels` could not run.
public enum KernelBenchmarkError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `--case` named no known case.
    case unknownCase(String, known: [String])
    /// A numeric option is out of range.
    case invalidArgument(String)
    /// A kernel refused a case's arguments.
    case kernel(String, KernelError)

    public var description: String {
        switch self {
        case let .unknownCase(name, known): "unknown case '\(name)'; cases: \(known.joined(separator: ", "))"
        case let .invalidArgument(why): why
        case let .kernel(name, error): "\(name): \(error)"
        }
    }
}

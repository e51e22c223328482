import Kernels

/// Why `mfa-coordinator attention` could not compute its output.
public enum AttentionJobError: Error, Sendable, Equatable, CustomStringConvertible {
    /// An input or output file could not be read, decoded or written.
    case file(path: String, NPYError)
    /// The arrays' shapes do not form a dense attention problem.
    case shape(String)
    /// A command-line option's value is malformed.
    case option(String)
    /// The kernel refused its arguments.
    case kernel(KernelError)

    public var description: String {
        switch self {
        case let .file(_, error) where error.isIO: "\(error)"
        case let .file(path, error): "\(path): \(error)"
        case let .shape(why): "shapes: \(why)"
        case let .option(why): why
        case let .kernel(error): "attention: \(error)"
        }
    }
}

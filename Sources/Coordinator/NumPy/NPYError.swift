/// Why a NumPy `.npy` file or array could not be read, written or used.
public enum NPYError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file could not be read or written.
    case io(path: String, reason: String)
    /// The data does not start with the `\x93NUMPY` magic string.
    case notNPY
    /// The format version is not 1.0, 2.0 or 3.0.
    case unsupportedVersion(major: UInt8, minor: UInt8)
    /// The data ends before the header (or its length field) does.
    case truncatedHeader(needed: Int, available: Int)
    /// The header dictionary is not the one NumPy writes.
    case malformedHeader(String)
    /// The element type is not little-endian float32 (`<f4`) or float16 (`<f2`).
    case unsupportedDType(String)
    /// The array is stored in Fortran (column-major) order.
    case fortranOrder
    /// The shape's element count overflows or a dimension is negative.
    case invalidShape([Int])
    /// The data after the header does not hold exactly the shape's elements.
    case dataSizeMismatch(expectedBytes: Int, actualBytes: Int)

    /// Whether this is a file-system failure (its description already names the path).
    var isIO: Bool {
        if case .io = self { true } else { false }
    }

    public var description: String {
        switch self {
        case let .io(path, reason): "\(path): \(reason)"
        case .notNPY: "not a NumPy .npy file (bad magic string)"
        case let .unsupportedVersion(major, minor): "unsupported .npy format version \(major).\(minor)"
        case let .truncatedHeader(needed, available):
            ".npy header truncated: needs \(needed) bytes, file has \(available)"
        case let .malformedHeader(why): "malformed .npy header: \(why)"
        case let .unsupportedDType(descr): "unsupported dtype '\(descr)' (expected '<f4' or '<f2')"
        case .fortranOrder: "Fortran-ordered arrays are not supported (expected C order)"
        case let .invalidShape(shape): "invalid shape \(shape)"
        case let .dataSizeMismatch(expected, actual):
            ".npy data is \(actual) bytes, its shape needs \(expected)"
        }
    }
}

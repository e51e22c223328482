/// Why a hexadecimal digest string was refused.
public enum HexError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The string does not have exactly 64 characters (the count found).
    case wrongLength(Int)
    /// A character that is not a hexadecimal digit, at this byte offset.
    case invalidDigit(offset: Int)

    /// A readable explanation.
    public var description: String {
        switch self {
        case .wrongLength(let count): "a digest is 64 hexadecimal digits, got \(count) characters"
        case .invalidDigit(let offset): "character at offset \(offset) is not a hexadecimal digit"
        }
    }
}

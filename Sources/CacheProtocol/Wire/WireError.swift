/// Why bytes received from the wire were refused. Decoders throw these before reading anything
/// they have not checked, so a refused message never yields a partial or misread value.
public enum WireError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The multipart message has no frames at all.
    case noFrames
    /// Frame 0 is shorter than the fixed header.
    case truncatedHeader(length: Int)
    /// The first four bytes are not `MessageHeader.magic`.
    case badMagic(UInt32)
    /// The sender speaks another major protocol version, which this side cannot read.
    case unsupportedVersion(major: UInt8, minor: UInt8)
    /// The header names a message type this side does not know.
    case unknownMessageType(UInt16)
    /// The message has a different number of frames than the header or the body calls for.
    case frameCountMismatch(expected: Int, actual: Int)
    /// A field needs more bytes than are left.
    case truncated(field: String, needed: Int, available: Int)
    /// Bytes are left over after the last field of the body.
    case trailingBytes(Int)
    /// A count or size is larger than the protocol allows (see `WireLimits`).
    case limitExceeded(field: String, value: UInt64, limit: UInt64)
    /// A count times its element size does not fit in an integer.
    case countOverflow(field: String)
    /// A string field is not valid UTF-8 or has a forbidden character.
    case invalidText(field: String)
    /// An enumerated or boolean field holds a value with no meaning.
    case invalidValue(field: String, value: UInt64)
    /// Fields that each decoded well contradict one another (shapes, sizes, counts).
    case inconsistent(String)
    /// An embedded model spec is not valid.
    case invalidModelSpec(ModelSpecError)

    /// The `ErrorReply` code that answers a request refused with this error: `version` for another
    /// major version, `badRequest` for everything else.
    public var replyCode: ErrorCode {
        if case .unsupportedVersion = self { .version } else { .badRequest }
    }

    /// A readable explanation.
    public var description: String {
        switch self {
        case .noFrames:
            "message has no frames"
        case .truncatedHeader(let length):
            "frame 0 has \(length) bytes, fewer than the \(MessageHeader.byteCount)-byte header"
        case .badMagic(let magic):
            "bad magic 0x\(String(magic, radix: 16)): not an MFA Cluster message"
        case .unsupportedVersion(let major, let minor):
            "protocol version \(major).\(minor) is not supported (this side speaks \(MessageHeader.protocolMajor).x)"
        case .unknownMessageType(let code):
            "unknown message type \(code)"
        case .frameCountMismatch(let expected, let actual):
            "message should have \(expected) frames, has \(actual)"
        case .truncated(let field, let needed, let available):
            "\(field) needs \(needed) bytes, only \(available) left"
        case .trailingBytes(let count):
            "\(count) unexpected bytes after the last field"
        case .limitExceeded(let field, let value, let limit):
            "\(field) = \(value) exceeds the limit of \(limit)"
        case .countOverflow(let field):
            "\(field): count times element size overflows"
        case .invalidText(let field):
            "\(field) is not valid text"
        case .invalidValue(let field, let value):
            "\(field) has no meaning for value \(value)"
        case .inconsistent(let what):
            "inconsistent message: \(what)"
        case .invalidModelSpec(let error):
            "invalid model spec: \(error)"
        }
    }
}

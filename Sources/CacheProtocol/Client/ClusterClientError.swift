/// Why a `ClusterClient` request failed.
public enum ClusterClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The connection failed, was closed, or no answer came in time.
    case transport(TransportError)
    /// The request could not be encoded, or the answer could not be decoded.
    case wire(WireError)
    /// The cluster answered with an `ErrorReply`.
    case refused(code: ErrorCode, message: String)
    /// The cluster answered with a message that does not answer this request.
    case unexpectedReply(expected: MessageType, received: MessageType)

    /// What went wrong, in one sentence.
    public var description: String {
        switch self {
        case .transport(let error): "transport: \(error)"
        case .wire(let error): "wire: \(error)"
        case let .refused(code, message): "refused (\(code)): \(message)"
        case let .unexpectedReply(expected, received): "expected \(expected), received \(received)"
        }
    }
}

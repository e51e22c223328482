import CZeroMQ

/// Why a transport operation failed.
public enum TransportError: Error, Sendable, Hashable, CustomStringConvertible {
    /// libzmq refused `operation`: `code` is `zmq_errno()`, `message` its `zmq_strerror`.
    case zmq(operation: String, code: Int32, message: String)
    /// `operation` did not complete within `timeout`.
    case timedOut(operation: String, timeout: Duration)
    /// The endpoint was closed before or while the operation ran.
    case closed
    /// The endpoint's receiving was stopped (`ZMQEndpoint.stopReceiving()`) before or while the
    /// receive waited; sends still work until the endpoint closes.
    case receivingStopped
    /// A message must have at least one frame.
    case emptyMessage
    /// A request's frames carry no request id (the requester's extractor returned `nil`).
    case missingRequestID
    /// Another request with the same id is still waiting for its reply.
    case duplicateRequestID(UInt64)
    /// A CURVE key is not 40 characters of Z85 encoding a 32-byte key.
    case invalidCurveKey(String)
    /// A CURVE key file could not be read, written or parsed.
    case keyFile(path: String, reason: String)
    /// The operating system refused to start the endpoint's thread or wake pipe.
    case system(operation: String, code: Int32)

    /// The error libzmq reports for the last failed call on this thread.
    static func lastZMQ(_ operation: String) -> TransportError {
        let code = zmq_errno()
        return .zmq(operation: operation, code: code, message: String(cString: zmq_strerror(code)))
    }

    public var description: String {
        switch self {
        case .zmq(let operation, let code, let message): "\(operation) failed: \(message) (errno \(code))"
        case .timedOut(let operation, let timeout): "\(operation) timed out after \(timeout)"
        case .closed: "the transport endpoint is closed"
        case .receivingStopped: "the transport endpoint no longer receives messages"
        case .emptyMessage: "a message needs at least one frame"
        case .missingRequestID: "the request carries no request id"
        case .duplicateRequestID(let id): "request id \(id) is already waiting for a reply"
        case .invalidCurveKey(let why): "invalid CURVE key: \(why)"
        case .keyFile(let path, let reason): "key file \(path): \(reason)"
        case .system(let operation, let code): "\(operation) failed: errno \(code)"
        }
    }
}

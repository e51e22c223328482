import CacheProtocol

/// Why an operator command against a coordinator failed.
public enum OperatorError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The coordinator could not be reached or refused the request.
    case request(String, ClusterClientError)
    /// The coordinator answered something else than the request's answer.
    case unexpectedAnswer(String, MessageType)
    /// The drained worker died instead of leaving.
    case workerDied(UInt64)
    /// The drained worker had not left when the wait ended.
    case drainTimedOut(UInt64, seconds: Int, state: String)

    /// What went wrong, in one sentence.
    public var description: String {
        switch self {
        case let .request(what, error): "\(what): \(error)"
        case let .unexpectedAnswer(what, type): "\(what): the coordinator answered \(type)"
        case let .workerDied(id): "worker \(id) died during its drain"
        case let .drainTimedOut(id, seconds, state):
            "worker \(id) had not left after \(seconds) s (it is \(state))"
        }
    }
}

import CacheProtocol

/// How one request to a worker ended.
enum PartOutcome: Sendable, Hashable {
    /// The worker answered with this message (not an `ErrorReply`).
    case answered(Message)
    /// The worker refused it with this error: by the protocol, it changed nothing.
    case refused(ErrorReply)
    /// No answer will come (its deadline passed, its worker died or left, it could not be sent):
    /// whether the worker applied it is unknown.
    case lost(String)

    /// The outcome of a worker's answer `message`.
    init(answer message: Message) {
        if case .errorReply(let error) = message {
            self = .refused(error)
        } else {
            self = .answered(message)
        }
    }
}

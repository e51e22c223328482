import CacheProtocol

extension CoordinatorInput {
    /// The input for one received multipart message (routing-identity frames already removed):
    /// `.received` with the decoded envelope, or `.undecodable` when `Envelope(frames:)` throws,
    /// with the header's request id when frame 0 carries a readable header (`nil` otherwise) and
    /// the code the refusal gets (`version` for another major version, `badRequest` otherwise).
    static func decoding(_ frames: [ZMQFrame], from source: MessageSource) -> CoordinatorInput {
        do {
            return .received(try Envelope(frames: frames), from: source)
        } catch {
            return .undecodable(
                from: source,
                requestID: frames.first.flatMap { MessageHeader.requestID(ofRefused: $0) },
                code: error.replyCode,
                reason: error.description
            )
        }
    }
}

import CacheProtocol
import Logging
import Synchronization

/// A client of one or more remote page holders (peer workers or `--role store` workers), spoken to
/// with PagePut / PageGet / PageContains / PageRemove through a DEALER per endpoint.
///
/// Each key belongs to one endpoint (chosen from the key's bytes), so a page is looked for where it
/// was put. Every request has a bounded timeout: an unreachable or failing remote is a miss (or a
/// refused put) and a log line, never a hang or a thrown error.
final class RemoteTier: Sendable {
    /// The timeout of one request the worker uses: long enough for a 1024-page transfer on a
    /// loaded host, short enough that a dead remote costs a demotion or a lookup no more than this.
    static let defaultTimeout: Duration = .seconds(2)

    /// The endpoints, in the order given.
    let endpoints: [String]
    /// How long one request may take.
    let timeout: Duration
    private let requesters: [ZMQRequester]
    private let nextRequestID = Atomic<UInt64>(1)
    private let logger: Logger

    /// Connects a DEALER to each of `endpoints` (connecting does not wait for the peer).
    init(endpoints: [String], context: ZMQContext, timeout: Duration, logger: Logger) throws(TierError) {
        guard !endpoints.isEmpty else { throw .noRemoteEndpoint }
        var requesters: [ZMQRequester] = []
        for endpoint in endpoints {
            do {
                requesters.append(
                    try ZMQRequester(
                        context: context,
                        connect: [endpoint],
                        options: ZMQSocketOptions(linger: .zero, maxMessageSize: nil),
                        requestID: { frame0 in MessageHeader.requestID(ofRefused: frame0) }
                    )
                )
            } catch {
                throw .remoteTransport(endpoint: endpoint, reason: error.description)
            }
        }
        self.endpoints = endpoints
        self.timeout = timeout
        self.requesters = requesters
        self.logger = logger
    }

    /// Stores `page` on its endpoint; true when the endpoint acknowledged it.
    func put(_ page: EncodedPage) async -> Bool {
        guard case .ack = await request(.pagePut(PagePut(pages: [page])), for: page.key) else { return false }
        return true
    }

    /// The encoded page of `key` from its endpoint, unchecked (the caller decodes it); nil on a miss
    /// or a failed request.
    func get(_ key: PrefixKey) async -> [UInt8]? {
        guard case let .pageGetReply(reply) = await request(.pageGet(PageGet(keys: [key])), for: key) else {
            return nil
        }
        return reply.pages.first { $0.key == key }?.bytes
    }

    /// Whether the key's endpoint holds it (false when it cannot be asked).
    func contains(_ key: PrefixKey) async -> Bool {
        guard case let .pageContainsReply(reply) = await request(.pageContains(PageContains(keys: [key])), for: key),
            reply.present.count == 1
        else { return false }
        return reply.present[0]
    }

    /// Asks the key's endpoint to remove it.
    func remove(_ key: PrefixKey) async {
        _ = await request(.pageRemove(PageRemove(keys: [key])), for: key)
    }

    /// Closes every connection.
    func close() async {
        for requester in requesters { await requester.close() }
    }

    /// The endpoint index `key` belongs to.
    func endpointIndex(of key: PrefixKey) -> Int {
        let bytes = key.bytes
        var word: UInt64 = 0
        for byte in bytes[0..<8] { word = word << 8 | UInt64(byte) }
        return Int(word % UInt64(endpoints.count))
    }

    /// Sends `message` to the endpoint of `key` and returns the reply's message; nil (logged) on a
    /// transport failure, an undecodable reply or an `ErrorReply`.
    private func request(_ message: Message, for key: PrefixKey) async -> Message? {
        let index = endpointIndex(of: key)
        let id = nextRequestID.wrappingAdd(1, ordering: .relaxed).oldValue
        let frames: [[UInt8]]
        do {
            frames = try Envelope(requestID: id, message: message).encode()
        } catch {
            logger.warning("remote tier: cannot encode request", metadata: ["reason": "\(error)"])
            return nil
        }
        let reply: Message
        do {
            reply = try Envelope(frames: try await requesters[index].request(frames, timeout: timeout)).message
        } catch {
            logger.warning(
                "remote tier: request failed",
                metadata: [
                    "endpoint": "\(endpoints[index])", "request": "\(message.type)", "reason": "\(error)",
                ]
            )
            return nil
        }
        if case let .errorReply(error) = reply {
            logger.warning(
                "remote tier: request refused",
                metadata: [
                    "endpoint": "\(endpoints[index])", "request": "\(message.type)", "reason": "\(error)",
                ]
            )
            return nil
        }
        return reply
    }
}

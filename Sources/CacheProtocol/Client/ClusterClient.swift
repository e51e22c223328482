import Synchronization

/// The client a model process links: an async API over one DEALER connection to a coordinator, or
/// directly to a worker (they take the same messages). Requests may be issued concurrently; each
/// gets a fresh request id and its own answer, whatever order answers come in. An `ErrorReply`
/// surfaces as `ClusterClientError.refused` with its code and message.
public final class ClusterClient: Sendable {
    private let requester: ZMQRequester
    private let timeout: Duration
    private let nextID = Atomic<UInt64>(1)

    /// A client connected to `endpoint`; every request fails with `.transport(.timedOut)` when no
    /// answer comes within `timeout`. Frames up to the protocol's limits are accepted.
    public init(
        context: ZMQContext,
        endpoint: String,
        timeout: Duration = .seconds(60),
        options: ZMQSocketOptions = ZMQSocketOptions(maxMessageSize: WireLimits.maxBulkFrameBytes)
    ) throws(ClusterClientError) {
        do {
            requester = try ZMQRequester(context: context, connect: [endpoint], options: options) { frame0 in
                MessageHeader.requestID(ofRefused: frame0)
            }
        } catch {
            throw .transport(error)
        }
        self.timeout = timeout
    }

    /// Sends `message` and returns the answer's message; an `ErrorReply` is thrown as `.refused`.
    public func request(_ message: Message) async throws(ClusterClientError) -> Message {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        let frames: [[UInt8]]
        do {
            frames = try Envelope(requestID: id, message: message).encode()
        } catch {
            throw .wire(error)
        }
        let replyFrames: [ZMQFrame]
        do {
            replyFrames = try await requester.request(frames, timeout: timeout)
        } catch {
            throw .transport(error)
        }
        let reply: Envelope
        do {
            reply = try Envelope(frames: replyFrames)
        } catch {
            throw .wire(error)
        }
        if case .errorReply(let error) = reply.message { throw .refused(code: error.code, message: error.message) }
        return reply.message
    }

    /// Opens a sequence for a prompt: its id and how many leading tokens are already cached
    /// (prefill starts there).
    public func open(
        namespace: String,
        tokens: [UInt32]
    ) async throws(ClusterClientError) -> (sequenceID: UInt64, cachedTokens: Int) {
        let reply = try await request(
            .openSequence(OpenSequence(sequenceID: 0, namespace: namespace, shardStart: 0, tokens: tokens))
        )
        guard case .openSequenceReply(let body) = reply else { throw unexpected(.openSequenceReply, reply) }
        return (body.sequenceID, Int(body.cachedTokens))
    }

    /// Appends k and v of `layer` from `startPosition` and returns the causal attention of the new
    /// tokens (q `[T, Hq, D]`, k and v `[T, Hkv, D]`).
    public func prefill(
        sequenceID: UInt64,
        layer: Int,
        startPosition: Int,
        q: WireTensor,
        k: WireTensor,
        v: WireTensor
    ) async throws(ClusterClientError) -> AttentionOutput {
        let body: Prefill
        do {
            body = try Prefill(
                sequenceID: sequenceID,
                layer: UInt32(clamping: layer),
                startPosition: UInt32(clamping: startPosition),
                input: AttentionInput(q: q, k: k, v: v)
            )
        } catch {
            throw .wire(error)
        }
        let reply = try await request(.prefill(body))
        guard case .prefillReply(let answer) = reply else { throw unexpected(.prefillReply, reply) }
        return answer.result
    }

    /// One decode step of `layer` for a batch: `input`'s rows are the entries' query tokens in
    /// entry order (with k and v, the tokens are appended first).
    public func decode(
        layer: Int,
        entries: [Decode.Entry],
        input: AttentionInput
    ) async throws(ClusterClientError) -> AttentionOutput {
        let body: Decode
        do {
            body = try Decode(layer: UInt32(clamping: layer), entries: entries, input: input)
        } catch {
            throw .wire(error)
        }
        let reply = try await request(.decode(body))
        guard case .decodeReply(let answer) = reply else { throw unexpected(.decodeReply, reply) }
        return answer.result
    }

    /// Shortens a sequence to `length` tokens.
    public func truncate(sequenceID: UInt64, length: Int) async throws(ClusterClientError) {
        try await expectAck(.truncate(Truncate(sequenceID: sequenceID, length: UInt32(clamping: length))))
    }

    /// Closes a sequence; with `commit`, its full prompt pages enter the prefix cache.
    public func close(sequenceID: UInt64, commit: Bool) async throws(ClusterClientError) {
        try await expectAck(.closeSequence(CloseSequence(sequenceID: sequenceID, commit: commit)))
    }

    /// Stores encoded pages under their keys (all or none).
    public func putPages(_ pages: [EncodedPage]) async throws(ClusterClientError) {
        try await expectAck(.pagePut(PagePut(pages: pages)))
    }

    /// The pages held for `keys`, in key order, missing keys left out.
    public func getPages(_ keys: [PrefixKey]) async throws(ClusterClientError) -> [EncodedPage] {
        let reply = try await request(.pageGet(PageGet(keys: keys)))
        guard case .pageGetReply(let body) = reply else { throw unexpected(.pageGetReply, reply) }
        return body.pages
    }

    /// Whether each key is held.
    public func containsPages(_ keys: [PrefixKey]) async throws(ClusterClientError) -> [Bool] {
        let reply = try await request(.pageContains(PageContains(keys: keys)))
        guard case .pageContainsReply(let body) = reply else { throw unexpected(.pageContainsReply, reply) }
        return body.present
    }

    /// Removes the pages of `keys` (unknown keys are not an error).
    public func removePages(_ keys: [PrefixKey]) async throws(ClusterClientError) {
        try await expectAck(.pageRemove(PageRemove(keys: keys)))
    }

    /// The answerer's named counters.
    public func stats() async throws(ClusterClientError) -> [String: UInt64] {
        let reply = try await request(.statsRequest(StatsRequest()))
        guard case .statsReply(let body) = reply else { throw unexpected(.statsReply, reply) }
        return Dictionary(body.counters.map { ($0.name, $0.value) }, uniquingKeysWith: { _, last in last })
    }

    /// Closes the connection; requests in flight fail with `.transport(.closed)`.
    public func disconnect() async {
        await requester.close()
    }

    private func expectAck(_ message: Message) async throws(ClusterClientError) {
        let reply = try await request(message)
        guard case .ack = reply else { throw unexpected(.ack, reply) }
    }

    private func unexpected(_ expected: MessageType, _ reply: Message) -> ClusterClientError {
        .unexpectedReply(expected: expected, received: reply.type)
    }
}

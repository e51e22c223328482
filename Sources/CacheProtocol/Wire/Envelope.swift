/// A message with its request id: what one multipart ZeroMQ message carries. Frame 0 is the
/// `MessageHeader` followed by the body; the body's bulk frames (tensors, pages) follow as frames
/// 1, 2, … and are moved into the frame list on encode, never copied into frame 0. Decoding reads
/// the frames where they are (a received message's frames stay in libzmq's buffers) and copies a
/// bulk frame only into the message that keeps it.
///
/// A request carries an id of the requester's choosing (unique among its outstanding requests);
/// the answer (`Ack`, `ErrorReply` or the request's reply type) carries the same id. Replies may
/// come in any order. Messages that are not answered (`CacheEvent`) carry id 0.
public struct Envelope: Sendable, Hashable {
    /// Matches a reply to its request.
    public var requestID: UInt64
    /// The message.
    public var message: Message
    /// The protocol minor version its sender speaks: the header's for a received message,
    /// `MessageHeader.protocolMinor` for one built here (which `encode` always writes). A receiver
    /// answers with the messages that version knows (for example `RegisterWorkerAccepted` only
    /// to 1.1 and later).
    public let senderMinorVersion: UInt8

    /// A message with its request id, from this side (minor version `MessageHeader.protocolMinor`).
    public init(requestID: UInt64, message: Message) {
        self.requestID = requestID
        self.message = message
        self.senderMinorVersion = MessageHeader.protocolMinor
    }

    /// The frames to send. Throws `limitExceeded` when the body, a bulk frame, the number of bulk
    /// frames or the whole message is larger than `WireLimits` allows (the receiver would refuse it).
    public func encode() throws(WireError) -> [[UInt8]] {
        var body = WireWriter()
        var frames: [[UInt8]] = [[]]
        message.body.encode(body: &body, bulk: &frames)
        let bulkCount = frames.count - 1
        try Self.check("body length", body.bytes.count, WireLimits.maxBodyBytes)
        try Self.check("bulk frame count", bulkCount, WireLimits.maxBulkFrames)
        var total = MessageHeader.byteCount + body.bytes.count
        for frame in frames.dropFirst() {
            try Self.check("bulk frame bytes", frame.count, WireLimits.maxBulkFrameBytes)
            total += frame.count
        }
        try Self.check("message bytes", total, WireLimits.maxMessageBytes)
        var frame0 = WireWriter(capacity: MessageHeader.byteCount + body.bytes.count)
        MessageHeader(type: message.type, bulkFrameCount: bulkCount, requestID: requestID, bodyLength: body.bytes.count)
            .encode(into: &frame0)
        frame0.writeRaw(body.bytes)
        frames[0] = frame0.bytes
        return frames
    }

    /// Decodes one multipart message (without any routing-identity frames). Checks, in order: that
    /// there is a frame; the header (`MessageHeader.init(frame0:)`); that the number of bulk frames
    /// is the header's; each bulk frame's and the whole message's size; then the body, which must
    /// use exactly the body bytes and the bulk frames.
    public init<Frame: FrameBytes>(frames: [Frame]) throws(WireError) {
        guard let first = frames.first else { throw .noFrames }
        let frame0 = first.withUnsafeBytes { Array($0) }
        let header = try MessageHeader(frame0: frame0)
        guard header.bulkFrameCount == frames.count - 1 else {
            throw .frameCountMismatch(expected: 1 + header.bulkFrameCount, actual: frames.count)
        }
        var total = frame0.count
        for frame in frames.dropFirst() {
            try Self.check("bulk frame bytes", frame.count, WireLimits.maxBulkFrameBytes)
            total += frame.count
        }
        try Self.check("message bytes", total, WireLimits.maxMessageBytes)
        var body = WireReader(frame0, offset: MessageHeader.byteCount)
        var bulk = BulkFrameReader(frames.dropFirst())
        let message = try Message.decode(type: header.type, body: &body, bulk: &bulk)
        try body.finish()
        try bulk.finish()
        self.requestID = header.requestID
        self.message = message
        self.senderMinorVersion = header.versionMinor
    }

    /// Two envelopes are equal when they carry the same request id and message, whichever minor
    /// version their senders speak (a minor version never changes what a message means).
    public static func == (lhs: Envelope, rhs: Envelope) -> Bool {
        lhs.requestID == rhs.requestID && lhs.message == rhs.message
    }

    /// Hashes the request id and the message, as `==` compares them.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(requestID)
        hasher.combine(message)
    }

    private static func check(_ field: String, _ value: Int, _ limit: Int) throws(WireError) {
        guard value <= limit else { throw .limitExceeded(field: field, value: UInt64(value), limit: UInt64(limit)) }
    }
}

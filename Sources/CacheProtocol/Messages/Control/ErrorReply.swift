/// The answer to any request that failed: a code and a human-readable UTF-8 message.
///
/// Body: code (u16), message (string, at most `WireLimits.maxMessageTextBytes` bytes).
public struct ErrorReply: WireBody, Error, CustomStringConvertible {
    /// What kind of failure.
    public var code: ErrorCode
    /// Details for a person.
    public var message: String

    /// An error answer.
    public init(code: ErrorCode, message: String) {
        self.code = code
        self.message = message
    }

    /// `code: message`.
    public var description: String { "\(code): \(message)" }

    /// Writes the body fields in the order documented above.
    public func encode(body: inout WireWriter, bulk: inout [[UInt8]]) {
        body.write(code.rawValue)
        body.write(message)
    }

    /// Reads the body fields in the order documented above, checking each before reading it.
    public init(body: inout WireReader, bulk: inout BulkFrameReader) throws(WireError) {
        code = ErrorCode(rawValue: try body.readUInt16("error code"))
        message = try body.readString("error message", maxBytes: WireLimits.maxMessageTextBytes)
    }
}

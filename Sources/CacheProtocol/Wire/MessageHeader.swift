/// The fixed 24 bytes that start frame 0 of every message, all multi-byte fields little-endian:
///
/// | offset | size | field |
/// | --- | --- | --- |
/// | 0 | 4 | magic: the ASCII bytes `MFAC` |
/// | 4 | 1 | protocol major version (1) |
/// | 5 | 1 | protocol minor version (1) |
/// | 6 | 2 | message type (`MessageType`) |
/// | 8 | 2 | flags: reserved, sent as 0, ignored on receipt |
/// | 10 | 2 | number of bulk frames after frame 0 |
/// | 12 | 8 | request id |
/// | 20 | 4 | body length: bytes of frame 0 after the header |
public struct MessageHeader: Sendable, Hashable {
    /// Bytes of the header.
    public static let byteCount = 24
    /// `MFAC` read as a little-endian u32.
    public static let magic: UInt32 = 0x4341_464D
    /// The major version this code speaks; a message of another major version is refused.
    public static let protocolMajor: UInt8 = 1
    /// The minor version this code sends. Minor versions only add message types and error codes.
    public static let protocolMinor: UInt8 = 1

    /// Minor version of the sender.
    public let versionMinor: UInt8
    /// What the body holds.
    public let type: MessageType
    /// Bulk frames that follow frame 0.
    public let bulkFrameCount: Int
    /// Chosen by the requester, copied into the reply.
    public let requestID: UInt64
    /// Bytes of frame 0 after the header.
    public let bodyLength: Int

    /// A header this side sends.
    init(type: MessageType, bulkFrameCount: Int, requestID: UInt64, bodyLength: Int) {
        self.versionMinor = Self.protocolMinor
        self.type = type
        self.bulkFrameCount = bulkFrameCount
        self.requestID = requestID
        self.bodyLength = bodyLength
    }

    /// Reads and checks the header at the start of `frame0`: magic, then major version (so that
    /// another version is reported as such, never misread), then type, then that the body length
    /// is within `WireLimits.maxBodyBytes` and fills the rest of the frame exactly.
    public init(frame0: [UInt8]) throws(WireError) {
        guard frame0.count >= Self.byteCount else { throw .truncatedHeader(length: frame0.count) }
        var reader = WireReader(frame0)
        let magic = try reader.readUInt32("magic")
        guard magic == Self.magic else { throw .badMagic(magic) }
        let major = try reader.readUInt8("major version")
        let minor = try reader.readUInt8("minor version")
        guard major == Self.protocolMajor else { throw .unsupportedVersion(major: major, minor: minor) }
        let code = try reader.readUInt16("message type")
        guard let type = MessageType(rawValue: code) else { throw .unknownMessageType(code) }
        _ = try reader.readUInt16("flags")
        let bulkFrameCount = try reader.readUInt16("bulk frame count")
        let requestID = try reader.readUInt64("request id")
        let bodyLength = try reader.readUInt32("body length")
        guard Int(bulkFrameCount) <= WireLimits.maxBulkFrames else {
            throw .limitExceeded(
                field: "bulk frame count",
                value: UInt64(bulkFrameCount),
                limit: UInt64(WireLimits.maxBulkFrames)
            )
        }
        guard Int(bodyLength) <= WireLimits.maxBodyBytes else {
            throw .limitExceeded(
                field: "body length",
                value: UInt64(bodyLength),
                limit: UInt64(WireLimits.maxBodyBytes)
            )
        }
        guard Int(bodyLength) <= reader.remaining else {
            throw .truncated(field: "body", needed: Int(bodyLength), available: reader.remaining)
        }
        guard Int(bodyLength) == reader.remaining else { throw .trailingBytes(reader.remaining - Int(bodyLength)) }
        self.versionMinor = minor
        self.type = type
        self.bulkFrameCount = Int(bulkFrameCount)
        self.requestID = requestID
        self.bodyLength = Int(bodyLength)
    }

    /// The request id of a message that was refused, so that the refusal can be answered: present
    /// when `frame0` has a whole header with the right magic, whatever its version or other fields.
    /// Reads the frame in place.
    public static func requestID(ofRefused frame0: some FrameBytes) -> UInt64? {
        frame0.withUnsafeBytes { raw in
            guard raw.count >= byteCount, UInt32(littleEndian: raw.loadUnaligned(as: UInt32.self)) == magic else {
                return nil
            }
            return UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 12, as: UInt64.self))
        }
    }

    /// Appends the 24 header bytes (flags 0).
    public func encode(into writer: inout WireWriter) {
        writer.write(Self.magic)
        writer.write(Self.protocolMajor)
        writer.write(versionMinor)
        writer.write(type.rawValue)
        writer.write(UInt16(0))
        writer.write(UInt16(truncatingIfNeeded: bulkFrameCount))
        writer.write(requestID)
        writer.write(UInt32(truncatingIfNeeded: bodyLength))
    }
}

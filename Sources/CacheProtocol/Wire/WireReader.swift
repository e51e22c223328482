/// Reads protocol fields from a byte buffer, checking that every field fits in what is left before
/// reading it. Every count is checked against its limit and against the bytes left before anything
/// is allocated, so a hostile count cannot cause a large allocation or an overflow.
public struct WireReader: Sendable {
    private let bytes: [UInt8]
    /// Offset of the next unread byte.
    public private(set) var offset: Int

    /// A reader over `bytes` starting at `offset`.
    public init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = min(max(0, offset), bytes.count)
    }

    /// Bytes not yet read.
    public var remaining: Int { bytes.count - offset }

    /// Reads one byte.
    public mutating func readUInt8(_ field: String) throws(WireError) -> UInt8 {
        try need(1, field)
        defer { offset += 1 }
        return bytes[offset]
    }

    /// Reads a little-endian u16.
    public mutating func readUInt16(_ field: String) throws(WireError) -> UInt16 {
        try readLittleEndian(field)
    }

    /// Reads a little-endian u32.
    public mutating func readUInt32(_ field: String) throws(WireError) -> UInt32 {
        try readLittleEndian(field)
    }

    /// Reads a little-endian u64.
    public mutating func readUInt64(_ field: String) throws(WireError) -> UInt64 {
        try readLittleEndian(field)
    }

    /// Reads a boolean byte: 0 or 1, anything else is `invalidValue`.
    public mutating func readBool(_ field: String) throws(WireError) -> Bool {
        let byte = try readUInt8(field)
        guard byte <= 1 else { throw .invalidValue(field: field, value: UInt64(byte)) }
        return byte == 1
    }

    /// Reads 32 digest bytes.
    public mutating func readDigest<D: DigestValue>(_ field: String, as _: D.Type = D.self) throws(WireError) -> D {
        try need(Digest32.byteCount, field)
        defer { offset += Digest32.byteCount }
        guard let digest = Digest32(bytes: bytes[offset..<offset + Digest32.byteCount]) else {
            throw .truncated(field: field, needed: Digest32.byteCount, available: remaining)
        }
        return D(digest: digest)
    }

    /// Reads a u32 count of elements of `elementBytes` bytes each that follow in this buffer, after
    /// checking it against `limit` and against the bytes left.
    public mutating func readCount(_ field: String, limit: Int, elementBytes: Int) throws(WireError) -> Int {
        let claimed = try readUInt32(field)
        guard UInt64(claimed) <= UInt64(limit) else {
            throw .limitExceeded(field: field, value: UInt64(claimed), limit: UInt64(limit))
        }
        let count = Int(claimed)
        let (total, overflow) = count.multipliedReportingOverflow(by: elementBytes)
        guard !overflow else { throw .countOverflow(field: field) }
        try need(total, field)
        return count
    }

    /// Reads a u32 byte length (at most `maxBytes`) and that many bytes of valid UTF-8.
    public mutating func readString(_ field: String, maxBytes: Int) throws(WireError) -> String {
        let length = try readCount(field, limit: maxBytes, elementBytes: 1)
        defer { offset += length }
        guard let text = String(validating: bytes[offset..<offset + length], as: UTF8.self) else {
            throw .invalidText(field: field)
        }
        return text
    }

    /// Reads a u32 count (at most `limit`) and that many little-endian u32 values.
    public mutating func readUInt32Array(_ field: String, limit: Int) throws(WireError) -> [UInt32] {
        let count = try readCount(field, limit: limit, elementBytes: 4)
        var values = [UInt32](repeating: 0, count: count)
        bytes.withUnsafeBytes { raw in
            for index in 0..<count {
                values[index] = UInt32(
                    littleEndian: raw.loadUnaligned(fromByteOffset: offset + 4 * index, as: UInt32.self)
                )
            }
        }
        offset += 4 * count
        return values
    }

    /// Reads a u32 count (at most `limit`) and that many 32-byte digests.
    public mutating func readDigestArray<D: DigestValue>(
        _ field: String,
        limit: Int,
        as _: D.Type = D.self
    ) throws(WireError) -> [D] {
        let count = try readCount(field, limit: limit, elementBytes: Digest32.byteCount)
        var values = [D]()
        values.reserveCapacity(count)
        for _ in 0..<count { values.append(try readDigest(field)) }
        return values
    }

    /// Reads a u32 count (at most `limit`) and that many boolean bytes.
    public mutating func readBoolArray(_ field: String, limit: Int) throws(WireError) -> [Bool] {
        let count = try readCount(field, limit: limit, elementBytes: 1)
        var values = [Bool]()
        values.reserveCapacity(count)
        for _ in 0..<count { values.append(try readBool(field)) }
        return values
    }

    /// Throws `trailingBytes` unless every byte has been read.
    public func finish() throws(WireError) {
        guard remaining == 0 else { throw .trailingBytes(remaining) }
    }

    private func need(_ count: Int, _ field: String) throws(WireError) {
        guard count <= remaining else { throw .truncated(field: field, needed: count, available: remaining) }
    }

    private mutating func readLittleEndian<T: FixedWidthInteger>(_ field: String) throws(WireError) -> T {
        let size = MemoryLayout<T>.size
        try need(size, field)
        let value = bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
        offset += size
        return value
    }
}

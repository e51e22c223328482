/// Appends protocol fields to a byte buffer, every multi-byte value little-endian, every count and
/// length as a u32. The counterpart of `WireReader`.
public struct WireWriter: Sendable {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8]

    /// An empty buffer with room for `capacity` bytes.
    public init(capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Appends one byte.
    public mutating func write(_ value: UInt8) {
        bytes.append(value)
    }

    /// Appends 2 bytes, little-endian.
    public mutating func write(_ value: UInt16) {
        appendLittleEndian(value)
    }

    /// Appends 4 bytes, little-endian.
    public mutating func write(_ value: UInt32) {
        appendLittleEndian(value)
    }

    /// Appends 8 bytes, little-endian.
    public mutating func write(_ value: UInt64) {
        appendLittleEndian(value)
    }

    /// Appends 1 byte: 1 for true, 0 for false.
    public mutating func write(_ value: Bool) {
        bytes.append(value ? 1 : 0)
    }

    /// Appends the 32 bytes of a digest.
    public mutating func write(_ value: some DigestValue) {
        bytes.append(contentsOf: value.digest.bytes)
    }

    /// Appends a count or length as a u32. Callers keep counts within `WireLimits`, all far below 2³².
    public mutating func writeCount(_ count: Int) {
        write(UInt32(truncatingIfNeeded: count))
    }

    /// Appends the UTF-8 byte length (u32) and the bytes of `text`.
    public mutating func write(_ text: String) {
        let utf8 = Array(text.utf8)
        writeCount(utf8.count)
        bytes.append(contentsOf: utf8)
    }

    /// Appends the element count (u32) and each value as a u32, little-endian.
    public mutating func write(_ values: [UInt32]) {
        writeCount(values.count)
        bytes.reserveCapacity(bytes.count + 4 * values.count)
        for value in values { appendLittleEndian(value) }
    }

    /// Appends the count (u32) and the 32 bytes of each digest.
    public mutating func write(_ values: [some DigestValue]) {
        writeCount(values.count)
        for value in values { write(value) }
    }

    /// Appends the count (u32) and one boolean byte per value.
    public mutating func write(_ values: [Bool]) {
        writeCount(values.count)
        for value in values { write(value) }
    }

    /// Appends raw bytes with no length.
    public mutating func writeRaw(_ raw: [UInt8]) {
        bytes.append(contentsOf: raw)
    }

    private mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }
}

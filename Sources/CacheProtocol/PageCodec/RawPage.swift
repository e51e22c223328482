/// One KV page's raw content (see `PageLayout`) with its layout.
public struct RawPage: Sendable, Hashable {
    /// The page's shape and element type.
    public let layout: PageLayout
    /// Exactly `layout.rawByteCount` bytes.
    public let bytes: [UInt8]

    /// Wraps `bytes`; throws `PageCodecError.rawLengthMismatch` unless there are exactly
    /// `layout.rawByteCount` of them.
    public init(layout: PageLayout, bytes: [UInt8]) throws(PageCodecError) {
        guard bytes.count == layout.rawByteCount else {
            throw .rawLengthMismatch(declared: bytes.count, expected: layout.rawByteCount)
        }
        self.layout = layout
        self.bytes = bytes
    }

    /// Stores `values` (`layout.elementCount` floats in page order) in the layout's storage type
    /// with `KVRowEncoding` (rows of `headDim`): rounded to nearest, or int8 with one scale per row
    /// (`max|x| / 127`) appended after the elements.
    public init(layout: PageLayout, values: [Float]) throws(PageCodecError) {
        guard values.count == layout.elementCount else {
            throw .valueCountMismatch(given: values.count, expected: layout.elementCount)
        }
        let rowLength = layout.headDim
        let rows = values.count / rowLength
        let storage = layout.storage
        var bytes = [UInt8](repeating: 0, count: values.count * storage.bytesPerElement)
        var scales: [Float] = []
        if storage == .int8 { scales.reserveCapacity(rows) }
        values.withUnsafeBufferPointer { source in
            bytes.withUnsafeMutableBytes { raw in
                for row in 0..<rows {
                    let start = row * rowLength
                    let scale = KVRowEncoding.store(
                        UnsafeBufferPointer(rebasing: source[start..<start + rowLength]),
                        as: storage,
                        into: raw,
                        firstElement: start
                    )
                    if storage == .int8 { scales.append(scale) }
                }
            }
        }
        bytes.reserveCapacity(layout.rawByteCount)
        for scale in scales {
            withUnsafeBytes(of: scale.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
        }
        try self.init(layout: layout, bytes: bytes)
    }
}

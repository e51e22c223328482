import Kernels

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

    /// Stores `values` (`layout.elementCount` floats in page order) in the layout's storage type,
    /// as `Kernels.KVTensor` does: rounded to nearest, or int8 with one scale per row
    /// (`max|x| / 127`).
    public init(layout: PageLayout, values: [Float]) throws(PageCodecError) {
        guard values.count == layout.elementCount else {
            throw .valueCountMismatch(given: values.count, expected: layout.elementCount)
        }
        let tensor: KVTensor
        do {
            tensor = try KVTensor(values, rowLength: layout.headDim, storage: layout.storage)
        } catch {
            throw .invalidLayout(error.description)
        }
        var bytes = tensor.bytes
        bytes.reserveCapacity(layout.rawByteCount)
        for scale in tensor.scales {
            withUnsafeBytes(of: scale.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
        }
        try self.init(layout: layout, bytes: bytes)
    }
}

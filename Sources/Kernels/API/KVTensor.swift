/// K or V elements in one storage type, as rows of `rowLength` (= head dim) elements.
///
/// The element order is the caller's layout (dense `[B, Hkv, Nk, D]`, varlen `[Tk, Hkv, D]`, a page
/// pool's `[P, pageSize, Hkv, D]`); the tensor only knows rows. Elements are kept as raw
/// little-endian bytes so that pools can be written in place and pages encoded without a copy;
/// int8 rows carry one `Float` scale each in `scales`.
public struct KVTensor: Sendable, Hashable {
    /// How each element is stored.
    public let storage: KVStorageType
    /// Elements per row: the head dimension.
    public let rowLength: Int
    /// The elements, `count * storage.bytesPerElement` bytes.
    public var bytes: [UInt8]
    /// One scale per row for `.int8`, empty otherwise.
    public var scales: [Float]

    /// Number of elements.
    public var count: Int { bytes.count / storage.bytesPerElement }
    /// Number of rows.
    public var rowCount: Int { rowLength == 0 ? 0 : count / rowLength }

    /// A zero-filled tensor of `rows` rows.
    public init(zeros rows: Int, rowLength: Int, storage: KVStorageType) {
        self.storage = storage
        self.rowLength = rowLength
        self.bytes = [UInt8](repeating: 0, count: max(0, rows * rowLength) * storage.bytesPerElement)
        self.scales = storage == .int8 ? [Float](repeating: 0, count: max(0, rows)) : []
    }

    /// Stores `values` (a whole number of rows) in `storage`, rounding or quantising each row.
    public init(_ values: [Float], rowLength: Int, storage: KVStorageType) throws(KernelError) {
        guard rowLength > 0 else { throw .invalidDimension(name: "rowLength", value: rowLength) }
        guard values.count % rowLength == 0 else {
            throw .shapeMismatch(
                tensor: "KV tensor",
                expected: (values.count / rowLength + 1) * rowLength,
                actual: values.count
            )
        }
        self.init(zeros: values.count / rowLength, rowLength: rowLength, storage: storage)
        values.withUnsafeBufferPointer { source in
            for row in 0..<rowCount {
                let start = row * rowLength
                setRow(row, from: UnsafeBufferPointer(rebasing: source[start..<start + rowLength]))
            }
        }
    }

    /// Overwrites row `row` with `values` (`rowLength` floats), rounding or quantising it.
    /// The caller guarantees `row < rowCount` and `values.count == rowLength`.
    public mutating func setRow(_ row: Int, from values: UnsafeBufferPointer<Float>) {
        let storage = self.storage
        let scale = bytes.withUnsafeMutableBytes { raw in
            KVRowEncoding.store(values, as: storage, into: raw, firstElement: row * rowLength)
        }
        if storage == .int8 { scales[row] = scale }
    }

    /// Every element as `Float` (int8 rows multiplied by their scale), in storage order.
    public func dequantized() -> [Float] {
        var out = [Float](repeating: 0, count: count)
        bytes.withUnsafeBytes { raw in
            switch storage {
            case .f32:
                let src = raw.bindMemory(to: Float.self)
                for i in 0..<out.count { out[i] = src[i] }
            case .f16:
                let src = raw.bindMemory(to: Float16.self)
                for i in 0..<out.count { out[i] = Float(src[i]) }
            case .bf16:
                let src = raw.bindMemory(to: UInt16.self)
                for i in 0..<out.count { out[i] = BFloat16(bitPattern: UInt16(littleEndian: src[i])).floatValue }
            case .int8:
                let src = raw.bindMemory(to: Int8.self)
                for i in 0..<out.count { out[i] = Float(src[i]) * scales[i / rowLength] }
            }
        }
        return out
    }
}

/// A read-only view of a K or V tensor's rows, valid for the duration of one kernel call, that
/// converts rows of any storage type to `Float`.
///
/// Elements are read as little-endian values straight from the tensor's bytes; the caller has
/// checked that every row it asks for exists.
struct KVRowReader: @unchecked Sendable {
    /// The tensor's element bytes.
    let bytes: UnsafeRawPointer
    /// Per-row scales (int8 storage only).
    let scales: UnsafePointer<Float>
    /// Element storage type.
    let storage: KVStorageType
    /// Elements per row (the head dimension).
    let rowLength: Int

    /// Writes row `row` as `rowLength` floats to `destination` (int8 rows multiplied by their scale).
    @inline(__always)
    func load(row: Int, into destination: UnsafeMutablePointer<Float>) {
        let n = rowLength
        switch storage {
        case .f32:
            let source = bytes + row * n * 4
            for i in 0..<n { destination[i] = source.loadUnaligned(fromByteOffset: i * 4, as: Float.self) }
        case .f16:
            let source = bytes + row * n * 2
            for i in 0..<n { destination[i] = Float(source.loadUnaligned(fromByteOffset: i * 2, as: Float16.self)) }
        case .bf16:
            let source = bytes + row * n * 2
            for i in 0..<n {
                destination[i] = Float(
                    bitPattern: UInt32(source.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)) << 16
                )
            }
        case .int8:
            let source = bytes + row * n
            let scale = scales[row]
            for i in 0..<n { destination[i] = Float(source.loadUnaligned(fromByteOffset: i, as: Int8.self)) * scale }
        }
    }
}

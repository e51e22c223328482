extension KVTensor {
    /// Throws unless this tensor holds exactly `rows` rows of `rowLength` elements (and, for int8,
    /// one scale per row). `name` appears in the error.
    func check(rows: Int, rowLength expectedRowLength: Int, name: String) throws(KernelError) {
        guard rowLength == expectedRowLength else {
            throw .storageMismatch(
                "\(name) rows hold \(rowLength) elements, the head dimension is \(expectedRowLength)"
            )
        }
        let elements = try CheckedProduct.of(rows, expectedRowLength, naming: name)
        let byteCount = try CheckedProduct.of(elements, storage.bytesPerElement, naming: name)
        guard bytes.count == byteCount else {
            throw .shapeMismatch(tensor: name, expected: elements, actual: bytes.count / storage.bytesPerElement)
        }
        let expectedScales = storage == .int8 ? rows : 0
        guard scales.count == expectedScales else {
            throw .shapeMismatch(tensor: "\(name) scales", expected: expectedScales, actual: scales.count)
        }
    }

    /// Throws unless `keys` and `values` share one storage type.
    static func checkSameStorage(keys: KVTensor, values: KVTensor) throws(KernelError) {
        guard keys.storage == values.storage else {
            throw .storageMismatch("keys are \(keys.storage), values are \(values.storage)")
        }
    }
}

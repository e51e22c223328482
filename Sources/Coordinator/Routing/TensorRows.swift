import CacheProtocol

/// Row slicing of wire tensors: the bytes of chosen rows (outermost index) copied in order, for
/// building each worker's part of a decode batch. Moves bytes only; no arithmetic.
enum TensorRows {
    /// A tensor of `tensor`'s rows `ranges`, in that order, with its other dimensions; `tensor`
    /// itself (no copy) when the ranges are all its rows in order.
    static func gather(_ tensor: WireTensor, rows ranges: [Range<Int>]) throws(WireError) -> WireTensor {
        let rows = tensor.shape[0]
        if ranges.count == 1, ranges[0] == 0..<rows { return tensor }
        let rowBytes = rows == 0 ? 0 : tensor.bytes.count / rows
        var total = 0
        for range in ranges {
            guard range.lowerBound >= 0, range.upperBound <= rows else {
                throw .inconsistent("rows \(range) are outside a tensor of \(rows) rows")
            }
            total += range.count
        }
        var bytes = [UInt8]()
        bytes.reserveCapacity(total * rowBytes)
        tensor.bytes.withUnsafeBufferPointer { source in
            for range in ranges {
                bytes.append(contentsOf: source[(range.lowerBound * rowBytes)..<(range.upperBound * rowBytes)])
            }
        }
        return try WireTensor(elementType: tensor.elementType, shape: [total] + tensor.shape.dropFirst(), bytes: bytes)
    }
}

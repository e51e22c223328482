/// A dense row-major tensor travelling in its own bulk frame. Frame 0 carries its descriptor —
/// element type (u8), rank (u8), then each dimension (u32 LE) — and the bulk frame carries exactly
/// `elementCount × elementType.byteCount` bytes of little-endian elements, moved, never copied
/// into frame 0.
public struct WireTensor: Sendable, Hashable {
    /// Element type.
    public let elementType: TensorElementType
    /// Dimensions, outermost first.
    public let shape: [Int]
    /// The elements, little-endian, row-major.
    public let bytes: [UInt8]

    /// A tensor whose `bytes` must hold exactly the elements `shape` calls for; the rank is
    /// 1...`WireLimits.maxTensorRank` and the size at most `WireLimits.maxBulkFrameBytes`.
    public init(elementType: TensorElementType, shape: [Int], bytes: [UInt8]) throws(WireError) {
        guard (1...WireLimits.maxTensorRank).contains(shape.count) else {
            throw .limitExceeded(
                field: "tensor rank",
                value: UInt64(shape.count),
                limit: UInt64(WireLimits.maxTensorRank)
            )
        }
        var size = elementType.byteCount
        for dimension in shape {
            guard dimension >= 0, dimension <= Int(UInt32.max) else {
                throw .invalidValue(field: "tensor dimension", value: UInt64(truncatingIfNeeded: dimension))
            }
            let (product, overflow) = size.multipliedReportingOverflow(by: dimension)
            guard !overflow else { throw .countOverflow(field: "tensor size") }
            size = product
        }
        guard size <= WireLimits.maxBulkFrameBytes else {
            throw .limitExceeded(
                field: "tensor bytes",
                value: UInt64(size),
                limit: UInt64(WireLimits.maxBulkFrameBytes)
            )
        }
        guard bytes.count == size else {
            throw .inconsistent(
                "tensor of shape \(shape) as \(elementType) needs \(size) bytes, its frame has \(bytes.count)"
            )
        }
        self.elementType = elementType
        self.shape = shape
        self.bytes = bytes
    }

    /// An f32 tensor of `values`, whose count must match `shape`.
    public init(f32 values: [Float], shape: [Int]) throws(WireError) {
        var bytes = [UInt8]()
        bytes.reserveCapacity(4 * values.count)
        for value in values {
            withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
        }
        try self.init(elementType: .f32, shape: shape, bytes: bytes)
    }

    /// The elements of an f32 tensor; throws `inconsistent` for another element type.
    public func f32Values() throws(WireError) -> [Float] {
        guard elementType == .f32 else { throw .inconsistent("tensor holds \(elementType), not f32") }
        return bytes.withUnsafeBytes { raw in
            (0..<bytes.count / 4).map {
                Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)))
            }
        }
    }

    /// Writes the descriptor to `body` and appends the elements as one bulk frame.
    public func encode(body: inout WireWriter, bulk: inout [[UInt8]]) {
        body.write(elementType.rawValue)
        body.write(UInt8(truncatingIfNeeded: shape.count))
        for dimension in shape { body.writeCount(dimension) }
        bulk.append(bytes)
    }

    /// Reads a descriptor from `body` and takes the elements from the next bulk frame, checking
    /// that the frame holds exactly the bytes the descriptor calls for.
    public init(body: inout WireReader, bulk: inout BulkFrameReader) throws(WireError) {
        let code = try body.readUInt8("tensor element type")
        guard let elementType = TensorElementType(rawValue: code) else {
            throw .invalidValue(field: "tensor element type", value: UInt64(code))
        }
        let rank = Int(try body.readUInt8("tensor rank"))
        guard (1...WireLimits.maxTensorRank).contains(rank) else {
            throw .limitExceeded(field: "tensor rank", value: UInt64(rank), limit: UInt64(WireLimits.maxTensorRank))
        }
        var shape = [Int]()
        for _ in 0..<rank { shape.append(Int(try body.readUInt32("tensor dimension"))) }
        try self.init(elementType: elementType, shape: shape, bytes: try bulk.next())
    }
}

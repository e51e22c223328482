import Foundation

/// A float array read from or written to NumPy's `.npy` format.
///
/// Reads versions 1.0, 2.0 and 3.0 with dtype `<f4` or `<f2` in C order (float16 values are widened
/// to `Float`); writes float32 version 1.0. Every length is checked before it is read.
public struct NPYArray: Sendable, Hashable {
    /// Element types that can be read.
    public enum ElementType: String, Sendable, Hashable {
        /// Little-endian IEEE single precision, `<f4`.
        case float32 = "<f4"
        /// Little-endian IEEE half precision, `<f2`.
        case float16 = "<f2"

        var byteCount: Int { self == .float32 ? 4 : 2 }
    }

    /// The magic string every `.npy` file starts with.
    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    /// The dimensions, outermost first.
    public var shape: [Int]
    /// The elements in C order, `shape.reduce(1, *)` of them.
    public var values: [Float]
    /// The element type the data was stored in (`float32` for arrays made in memory).
    public var elementType: ElementType

    /// An array of `values` with `shape`; the counts must agree.
    public init(shape: [Int], values: [Float], elementType: ElementType = .float32) throws(NPYError) {
        guard let count = Self.elementCount(shape) else { throw .invalidShape(shape) }
        guard count == values.count else {
            throw .dataSizeMismatch(
                expectedBytes: count * elementType.byteCount,
                actualBytes: values.count * elementType.byteCount
            )
        }
        self.shape = shape
        self.values = values
        self.elementType = elementType
    }

    /// Decodes the bytes of a `.npy` file.
    public init(decoding data: [UInt8]) throws(NPYError) {
        guard data.count >= 8 else { throw .truncatedHeader(needed: 8, available: data.count) }
        guard Array(data[0..<6]) == Self.magic else { throw .notNPY }
        let (major, minor) = (data[6], data[7])
        let lengthBytes: Int
        switch (major, minor) {
        case (1, 0): lengthBytes = 2
        case (2, 0), (3, 0): lengthBytes = 4
        default: throw .unsupportedVersion(major: major, minor: minor)
        }
        guard data.count >= 8 + lengthBytes else {
            throw .truncatedHeader(needed: 8 + lengthBytes, available: data.count)
        }
        var headerLength = 0
        for i in (0..<lengthBytes).reversed() { headerLength = headerLength << 8 | Int(data[8 + i]) }
        let dataStart = 8 + lengthBytes + headerLength
        guard data.count >= dataStart else { throw .truncatedHeader(needed: dataStart, available: data.count) }
        let headerBytes = data[(8 + lengthBytes)..<dataStart]
        if major < 3, headerBytes.contains(where: { $0 >= 0x80 }) {
            throw .malformedHeader("non-ASCII bytes in a version \(major) header")
        }
        guard let text = String(validating: headerBytes, as: UTF8.self) else {
            throw .malformedHeader("header is not UTF-8")
        }
        let header = try NPYHeader(parsing: text)
        guard let elementType = ElementType(rawValue: header.descr) else { throw .unsupportedDType(header.descr) }
        guard !header.fortranOrder else { throw .fortranOrder }
        guard let count = Self.elementCount(header.shape) else { throw .invalidShape(header.shape) }
        let (expectedBytes, overflow) = count.multipliedReportingOverflow(by: elementType.byteCount)
        guard !overflow else { throw .invalidShape(header.shape) }
        guard data.count - dataStart == expectedBytes else {
            throw .dataSizeMismatch(expectedBytes: expectedBytes, actualBytes: data.count - dataStart)
        }
        var values = [Float](repeating: 0, count: count)
        data.withUnsafeBytes { raw in
            let body = UnsafeRawBufferPointer(rebasing: raw[dataStart...])
            switch elementType {
            case .float32:
                for i in 0..<count {
                    values[i] = Float(
                        bitPattern: UInt32(littleEndian: body.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))
                    )
                }
            case .float16:
                for i in 0..<count {
                    values[i] = Float(
                        Float16(
                            bitPattern: UInt16(littleEndian: body.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))
                        )
                    )
                }
            }
        }
        self.shape = header.shape
        self.values = values
        self.elementType = elementType
    }

    /// Reads and decodes the `.npy` file at `path`.
    public init(contentsOf path: String) throws(NPYError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .io(path: path, reason: "cannot read file")
        }
        try self.init(decoding: [UInt8](data))
    }

    /// The array as a float32 `.npy` version 1.0 file (header padded to a multiple of 64 bytes).
    func encoded() -> [UInt8] {
        var header = Array(NPYHeader(descr: ElementType.float32.rawValue, shape: shape).text.utf8)
        let unpadded = 10 + header.count + 1
        header += [UInt8](repeating: UInt8(ascii: " "), count: (64 - unpadded % 64) % 64)
        header.append(UInt8(ascii: "\n"))
        var bytes = Self.magic + [1, 0, UInt8(header.count & 0xFF), UInt8(header.count >> 8)] + header
        let dataStart = bytes.count
        bytes += [UInt8](repeating: 0, count: values.count * 4)
        bytes.withUnsafeMutableBytes { raw in
            for (i, value) in values.enumerated() {
                raw.storeBytes(of: value.bitPattern.littleEndian, toByteOffset: dataStart + i * 4, as: UInt32.self)
            }
        }
        return bytes
    }

    /// Writes the array as a float32 `.npy` file at `path`.
    func write(to path: String) throws(NPYError) {
        do {
            try Data(encoded()).write(to: URL(fileURLWithPath: path))
        } catch {
            throw .io(path: path, reason: "cannot write file (\(error.localizedDescription))")
        }
    }

    /// The product of `shape`, or nil if a dimension is negative or the product overflows.
    static func elementCount(_ shape: [Int]) -> Int? {
        var count = 1
        for dimension in shape {
            guard dimension >= 0 else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow else { return nil }
            count = product
        }
        return count
    }
}

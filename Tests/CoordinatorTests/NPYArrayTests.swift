import Foundation
import Testing

@testable import Coordinator

/// `.npy` files round-trip, and malformed ones are refused with the matching typed error.
@Suite struct NPYArrayTests {
    /// A `.npy` file built by hand: magic, version, little-endian header length, header, data.
    static func file(version: (UInt8, UInt8) = (1, 0), header: String, data: [UInt8]) -> [UInt8] {
        let headerBytes = Array(header.utf8)
        var bytes = NPYArray.magic + [version.0, version.1]
        if version.0 == 1 {
            bytes += [UInt8(headerBytes.count & 0xFF), UInt8(headerBytes.count >> 8)]
        } else {
            bytes += (0..<4).map { UInt8(truncatingIfNeeded: headerBytes.count >> (8 * $0)) }
        }
        return bytes + headerBytes + data
    }

    static func floatBytes(_ values: [Float]) -> [UInt8] {
        values.flatMap { value in (0..<4).map { UInt8(truncatingIfNeeded: value.bitPattern >> (8 * $0)) } }
    }

    @Test func roundTripsFloat32() throws {
        let values = (0..<24).map { Float($0) * 0.5 - 3 }
        let array = try NPYArray(shape: [2, 3, 4], values: values)
        let bytes = array.encoded()
        #expect(Array(bytes[0..<8]) == NPYArray.magic + [1, 0])
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        #expect((10 + headerLength) % 64 == 0)
        #expect(bytes[10 + headerLength - 1] == UInt8(ascii: "\n"))
        #expect(try NPYArray(decoding: bytes) == array)
        let oneDimensional = try NPYArray(shape: [3], values: [1, 2, 3])
        #expect(String(decoding: oneDimensional.encoded()[10..<80], as: UTF8.self).contains("(3,)"))
        #expect(try NPYArray(decoding: oneDimensional.encoded()) == oneDimensional)
        let scalar = try NPYArray(shape: [], values: [7])
        #expect(try NPYArray(decoding: scalar.encoded()) == scalar)
    }

    @Test func roundTripsThroughAFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("npy-\(UUID().uuidString).npy").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let array = try NPYArray(shape: [1, 2, 2, 2], values: [1, -2, 3.5, 0, .infinity, -0.25, 1e-8, 6])
        try array.write(to: path)
        #expect(try NPYArray(contentsOf: path) == array)
        #expect(throws: NPYError.self) { try NPYArray(contentsOf: path + ".missing") }
    }

    @Test func readsVersions2And3AndFloat16() throws {
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n"
        for version: (UInt8, UInt8) in [(2, 0), (3, 0)] {
            let array = try NPYArray(
                decoding: Self.file(version: version, header: header, data: Self.floatBytes([1.5, -2]))
            )
            #expect(array.shape == [2] && array.values == [1.5, -2])
        }
        let halves: [Float16] = [1, -0.5, 65504, 0.099_98]
        let data = halves.flatMap { [UInt8(truncatingIfNeeded: $0.bitPattern), UInt8($0.bitPattern >> 8)] }
        let f16 = try NPYArray(
            decoding: Self.file(
                header: "{'descr': '<f2', 'fortran_order': False, 'shape': (2, 2), }",
                data: data
            )
        )
        #expect(f16.elementType == .float16 && f16.shape == [2, 2])
        #expect(f16.values == halves.map { Float($0) })
        // Key order and spacing are free, as in a Python literal; Python 2 long integers too.
        let reordered = try NPYArray(
            decoding: Self.file(
                header: "{\"shape\": (1L,1), \"fortran_order\":False,\"descr\":'<f4'}   \n",
                data: Self.floatBytes([4])
            )
        )
        #expect(reordered.values == [4] && reordered.shape == [1, 1])
    }

    /// Builds `header` with `data` and expects `NPYArray(decoding:)` to throw `expected`.
    func expectRefused(
        _ bytes: [UInt8],
        _ matches: (NPYError) -> Bool,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let error = #expect(throws: NPYError.self, sourceLocation: sourceLocation) { try NPYArray(decoding: bytes) }
        #expect(error.map(matches) == true, "got \(String(describing: error))", sourceLocation: sourceLocation)
        #expect(error.map { !$0.description.isEmpty } == true, sourceLocation: sourceLocation)
    }

    @Test func refusesMalformedFiles() {
        let good = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }"
        let data = Self.floatBytes([1, 2])
        expectRefused([]) { if case .truncatedHeader = $0 { true } else { false } }
        expectRefused(Array("NUMPY\u{1}\u{0}xx".utf8)) { $0 == .notNPY }
        expectRefused(Self.file(version: (4, 0), header: good, data: data)) {
            $0 == .unsupportedVersion(major: 4, minor: 0)
        }
        expectRefused(Self.file(version: (1, 1), header: good, data: data)) {
            $0 == .unsupportedVersion(major: 1, minor: 1)
        }
        expectRefused(NPYArray.magic + [1, 0, 0xFF]) { if case .truncatedHeader = $0 { true } else { false } }
        expectRefused(NPYArray.magic + [1, 0, 0x40, 0] + Array("{'descr'".utf8)) {
            if case .truncatedHeader = $0 { true } else { false }
        }
        expectRefused(Self.file(header: "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", data: data)) {
            $0 == .unsupportedDType("<f8")
        }
        expectRefused(Self.file(header: "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", data: data)) {
            $0 == .unsupportedDType(">f4")
        }
        expectRefused(Self.file(header: "{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", data: data)) {
            $0 == .fortranOrder
        }
        expectRefused(Self.file(header: good, data: data + [0])) {
            $0 == .dataSizeMismatch(expectedBytes: 8, actualBytes: 9)
        }
        expectRefused(Self.file(header: good, data: Array(data.prefix(7)))) {
            $0 == .dataSizeMismatch(expectedBytes: 8, actualBytes: 7)
        }
        let huge = "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }"
        expectRefused(Self.file(header: huge, data: data)) { if case .invalidShape = $0 { true } else { false } }
        let tooLong = "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }"
        expectRefused(Self.file(header: tooLong, data: data)) { if case .malformedHeader = $0 { true } else { false } }
        for header in [
            "", "{", "'descr': '<f4'", "{'descr': '<f4', 'shape': (2,)}",
            "{'descr': <f4, 'fortran_order': False, 'shape': (2,)}",
            "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -1)}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': [2]}",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} trailing", "{'descr: '<f4'}",
        ] {
            expectRefused(Self.file(header: header, data: data)) {
                if case .malformedHeader = $0 { true } else { false }
            }
        }
        expectRefused(Self.file(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\u{e9}", data: data))
        {
            if case .malformedHeader = $0 { true } else { false }
        }
    }

    @Test func refusesMismatchedInMemoryArrays() {
        #expect(throws: NPYError.self) { try NPYArray(shape: [2, 2], values: [1, 2, 3]) }
        #expect(throws: NPYError.self) { try NPYArray(shape: [-1], values: []) }
    }
}

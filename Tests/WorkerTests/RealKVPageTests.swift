import Foundation
import Kernels
import Testing
@testable import Worker

/// Real K/V activations (shared/data/minilm-kv-a.npy beside the repository: `[6 layers, K/V, 420
/// tokens, 12 heads, 32 dims]` float16) written through the sequence manager and exported as pages.
@Suite("Real KV data through the page store")
struct RealKVPageTests {
    static let path = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/data/minilm-kv-a.npy").path
    static let available = FileManager.default.fileExists(atPath: path)

    static let layers = 6, tokens = 420, heads = 12, headDim = 32

    /// The payload bytes (float16, little-endian) after checking the header.
    private func payload() throws -> [UInt8] {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.path)))
        try #require(bytes.count > 10 && bytes[0] == 0x93 && Array(bytes[1..<6]) == Array("NUMPY".utf8))
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        let header = String(decoding: bytes[10..<10 + headerLength], as: UTF8.self)
        try #require(header.contains("'<f2'") && header.contains("(6, 2, 420, 12, 32)"))
        let data = Array(bytes[(10 + headerLength)...])
        try #require(data.count == Self.layers * 2 * Self.tokens * Self.heads * Self.headDim * 2)
        return data
    }

    /// Elements `[tokens, heads, dims]` of one layer's K (kv 0) or V (kv 1) as floats.
    private func side(_ data: [UInt8], layer: Int, kv: Int) -> [Float] {
        let count = Self.tokens * Self.heads * Self.headDim
        let start = (layer * 2 + kv) * count * 2
        return (0..<count).map { i in
            Float(Float16(bitPattern: UInt16(data[start + 2 * i]) | UInt16(data[start + 2 * i + 1]) << 8))
        }
    }

    @Test("f16 pages export exactly the file's bytes in the canonical layout", .enabled(if: available))
    func f16Layout() throws {
        let data = try payload()
        let geometry = try PageGeometry(layers: Self.layers, kvHeads: Self.heads, headDim: Self.headDim, pageSize: 16, storage: .f16)
        var manager = try SequenceManager(geometry: geometry, pageCount: 27, evictionPolicy: .drop)
        let (id, _) = try manager.open(prefixKeys: [])
        for layer in 0..<Self.layers {
            _ = try manager.append(id, layer: layer, keys: side(data, layer: layer, kv: 0), values: side(data, layer: layer, kv: 1))
        }
        let pages = try manager.sequence(id).pages
        #expect(pages.count == 27)
        let sideBytes = Self.tokens * Self.heads * Self.headDim * 2
        let pageSideBytes = 16 * Self.heads * Self.headDim * 2
        for (index, page) in pages.enumerated().prefix(26) {
            var expected: [UInt8] = []
            for layer in 0..<Self.layers {
                for kv in 0..<2 {
                    let start = (layer * 2 + kv) * sideBytes + index * pageSideBytes
                    expected += data[start..<start + pageSideBytes]
                }
            }
            #expect(try manager.store.exportPage(page) == expected)
        }
    }

    @Test("int8 pages round-trip bit-exactly and stay within 1% relative L2 of the data", .enabled(if: available))
    func int8RoundTrip() throws {
        let data = try payload()
        let geometry = try PageGeometry(layers: Self.layers, kvHeads: Self.heads, headDim: Self.headDim, pageSize: 16, storage: .int8)
        var manager = try SequenceManager(geometry: geometry, pageCount: 27, evictionPolicy: .drop)
        let (id, _) = try manager.open(prefixKeys: [])
        var squaredError: Double = 0, norm: Double = 0
        for layer in 0..<Self.layers {
            let keys = side(data, layer: layer, kv: 0)
            _ = try manager.append(id, layer: layer, keys: keys, values: side(data, layer: layer, kv: 1))
            let read = try readTokens(manager, id, layer: layer, count: Self.tokens)
            for (a, b) in zip(read.keys, keys) {
                squaredError += Double(a - b) * Double(a - b)
                norm += Double(b) * Double(b)
            }
        }
        #expect((squaredError / norm).squareRoot() < 0.01)
        let pages = try manager.sequence(id).pages
        var copy = try KVPageStore(geometry: geometry, pageCount: 1)
        for page in pages {
            let bytes = try manager.store.exportPage(page)
            try copy.importPage(bytes, into: 0)
            #expect(try copy.exportPage(0) == bytes)
        }
    }
}

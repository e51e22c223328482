import Foundation
import Kernels
import TestSupport
import Testing

@testable import Worker

/// Real K/V activations (Tests/Fixtures/minilm-kv-a.npy, read through `RealKVFile`: `[6 layers, K/V, 420
/// tokens, 12 heads, 32 dims]` float16) written through the sequence manager and exported as pages.
@Suite("Real KV data through the page store")
struct RealKVPageTests {
    static let layers = RealKVFile.layers, tokens = RealKVFile.tokens, heads = RealKVFile.heads
    static let headDim = RealKVFile.headDim

    /// Every value of the file, in file order.
    private func payload() throws -> [Float] {
        try RealKVFile.values()
    }

    /// Elements `[tokens, heads, dims]` of one layer's K (kv 0) or V (kv 1).
    private func side(_ data: [Float], layer: Int, kv: Int) -> [Float] {
        RealKVFile.side(data, layer: layer, kv: kv)
    }

    @Test("f16 pages export exactly the file's bytes in the canonical layout")
    func f16Layout() throws {
        let data = try payload()
        let geometry = try PageGeometry(
            layers: Self.layers,
            kvHeads: Self.heads,
            headDim: Self.headDim,
            pageSize: 16,
            storage: .f16
        )
        var manager = try SequenceManager(geometry: geometry, pageCount: 27, evictionPolicy: .drop)
        let (id, _) = try manager.open(prefixKeys: [])
        for layer in 0..<Self.layers {
            _ = try manager.append(
                id,
                layer: layer,
                keys: side(data, layer: layer, kv: 0),
                values: side(data, layer: layer, kv: 1)
            )
        }
        let pages = try manager.sequence(id).pages
        #expect(pages.count == 27)
        // The file's values are float16, so their float16 bytes are the file's bytes.
        let fileBytes = data.flatMap { value in
            let bits = Float16(value).bitPattern
            return [UInt8(truncatingIfNeeded: bits), UInt8(truncatingIfNeeded: bits >> 8)]
        }
        let sideBytes = Self.tokens * Self.heads * Self.headDim * 2
        let pageSideBytes = 16 * Self.heads * Self.headDim * 2
        for (index, page) in pages.enumerated().prefix(26) {
            var expected: [UInt8] = []
            for layer in 0..<Self.layers {
                for kv in 0..<2 {
                    let start = (layer * 2 + kv) * sideBytes + index * pageSideBytes
                    expected += fileBytes[start..<start + pageSideBytes]
                }
            }
            #expect(try manager.store.exportPage(page) == expected)
        }
    }

    @Test("int8 pages round-trip bit-exactly and stay within 1% relative L2 of the data")
    func int8RoundTrip() throws {
        let data = try payload()
        let geometry = try PageGeometry(
            layers: Self.layers,
            kvHeads: Self.heads,
            headDim: Self.headDim,
            pageSize: 16,
            storage: .int8
        )
        var manager = try SequenceManager(geometry: geometry, pageCount: 27, evictionPolicy: .drop)
        let (id, _) = try manager.open(prefixKeys: [])
        var squaredError: Double = 0
        var norm: Double = 0
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

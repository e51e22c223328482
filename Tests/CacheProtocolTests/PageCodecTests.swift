import Foundation
import Kernels
import TestSupport
import Testing

@testable import CacheProtocol

@Suite("Page codec")
struct PageCodecTests {
    let codec = PageCodec()

    static let encodings: [PageEncoding] = PageFilter.allCases.flatMap { filter in
        PageCompression.allCases.map { PageEncoding(filter: filter, compression: $0) }
    }

    func randomValues(_ count: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in Float.random(in: -4...4, using: &rng) }
    }

    @Test(
        "round trip of random pages of every storage type, filter and compression, odd shapes included",
        arguments: KVStorageType.allCases
    )
    func roundTripRandom(storage: KVStorageType) throws {
        let shapes = [(1, 1, 1, 1), (2, 3, 3, 5), (1, 16, 4, 64), (3, 7, 2, 33)]
        for (i, (l, p, h, d)) in shapes.enumerated() {
            let layout = try PageLayout(layers: l, pageSize: p, kvHeads: h, headDim: d, storage: storage)
            let page = try RawPage(layout: layout, values: randomValues(layout.elementCount, seed: UInt64(i)))
            for encoding in Self.encodings + [nil] {
                let encoded = codec.encode(page, encoding: encoding)
                #expect(encoded.count <= layout.rawByteCount + PageHeader.byteCount)
                #expect(try codec.decode(encoded) == page, "\(layout) \(String(describing: encoding))")
            }
        }
    }

    @Test(
        "round trip of real pages, full and half-filled, of every storage type and filter",
        arguments: KVStorageType.allCases
    )
    func roundTripReal(storage: KVStorageType) throws {
        let all = try RealKVFile.values()
        let layout = try RealKVFile.layout(storage)
        let pages = [(0, 16), (208, 16), (404, 16), (416, 4), (96, 8)]
        for (first, filled) in pages {
            let page = try RawPage(layout: layout, values: RealKVFile.page(all, first: first, filled: filled))
            for filter in PageFilter.allCases {
                let encoded = codec.encode(page, encoding: PageEncoding(filter: filter, compression: .lz4))
                #expect(encoded.count <= layout.rawByteCount + PageHeader.byteCount)
                #expect(try codec.decode(encoded) == page, "tokens \(first)+\(filled) \(filter)")
            }
        }
    }

    @Test("real bf16 pages reach ratio >= 1.12 with the default (best) filter, and f16 is stored raw")
    func realRatios() throws {
        let all = try RealKVFile.values()
        var raw = 0
        var bf16Encoded = 0
        var bitEncoded = 0
        var byteEncoded = 0
        for first in stride(from: 0, to: RealKVFile.tokens - 15, by: 16) {
            let values = RealKVFile.page(all, first: first, filled: 16)
            let bf16 = try RawPage(layout: RealKVFile.layout(.bf16), values: values)
            raw += bf16.bytes.count
            bf16Encoded += codec.encode(bf16).count
            bitEncoded += codec.encode(bf16, encoding: PageEncoding(filter: .bitShuffle, compression: .lz4)).count
            byteEncoded += codec.encode(bf16, encoding: PageEncoding(filter: .byteShuffle, compression: .lz4)).count
            let f16 = try RawPage(layout: RealKVFile.layout(.f16), values: values)
            let encoded = codec.encode(f16)
            #expect(encoded.count == f16.bytes.count + PageHeader.byteCount)
            #expect(encoded[7] == PageCompression.raw.rawValue)
        }
        let ratio = Double(raw) / Double(bf16Encoded)
        #expect(ratio >= 1.12, "bf16 default ratio \(ratio)")
        #expect(bitEncoded <= byteEncoded, "bit shuffle \(bitEncoded) vs byte shuffle \(byteEncoded)")
    }

    @Test("encoded size never exceeds raw + header, on random bytes", arguments: KVStorageType.allCases)
    func sizeBoundOnRandomBytes(storage: KVStorageType) throws {
        var rng = SplitMix64(seed: 7)
        let layout = try PageLayout(layers: 2, pageSize: 16, kvHeads: 4, headDim: 32, storage: storage)
        let page = try RawPage(
            layout: layout,
            bytes: (0..<layout.rawByteCount).map { _ in UInt8.random(in: 0...255, using: &rng) }
        )
        for encoding in Self.encodings {
            let encoded = codec.encode(page, encoding: encoding)
            #expect(encoded.count <= layout.rawByteCount + PageHeader.byteCount)
            #expect(try codec.decode(encoded) == page)
        }
    }

    /// A small page that LZ4 compresses after bit shuffling, and its encoding.
    func compressiblePage() throws -> (RawPage, [UInt8]) {
        let layout = try PageLayout(layers: 1, pageSize: 8, kvHeads: 2, headDim: 8, storage: .bf16)
        var rng = SplitMix64(seed: 3)
        let values = (0..<layout.elementCount).map { _ in Float(rng.next() % 4) * 0.25 - 0.5 }
        let page = try RawPage(layout: layout, values: values)
        let encoded = codec.encode(page, encoding: PageEncoding(filter: .bitShuffle, compression: .lz4))
        return (page, encoded)
    }

    /// A flip LZ4 cannot notice (a match offset pointing at equal bytes) may decode to the same
    /// page; anything else must throw. Header flips always throw.
    @Test("every flipped bit of an encoded page is a typed error or (LZ4 ambiguity) the same page, never other data")
    func flippedBits() throws {
        let (page, encoded) = try compressiblePage()
        #expect(encoded[7] == PageCompression.lz4.rawValue)
        let raw = codec.encode(page, encoding: PageEncoding(filter: .byteShuffle, compression: .raw))
        for original in [encoded, raw] {
            var caught = 0
            for index in original.indices {
                for bit in 0..<8 {
                    var damaged = original
                    damaged[index] ^= UInt8(1 << bit)
                    do {
                        let decoded = try codec.decode(damaged)
                        #expect(index >= PageHeader.byteCount && decoded == page, "byte \(index) bit \(bit)")
                    } catch {
                        caught += 1
                    }
                }
            }
            #expect(caught >= original.count * 8 * 9 / 10, "\(caught) of \(original.count * 8) flips caught")
        }
    }

    @Test("truncated pages, wrong magic, versions, codes and lengths are typed errors")
    func malformedHeaders() throws {
        let (_, encoded) = try compressiblePage()
        for length in 0..<encoded.count {
            #expect(throws: PageCodecError.self) { try codec.decode(Array(encoded[0..<length])) }
        }
        #expect(throws: PageCodecError.encodedLengthMismatch(declared: encoded.count - 40, actual: encoded.count - 39))
        {
            try codec.decode(encoded + [0])
        }
        func patched(_ offset: Int, _ bytes: [UInt8]) -> [UInt8] {
            var copy = encoded
            copy.replaceSubrange(offset..<offset + bytes.count, with: bytes)
            return copy
        }
        #expect(throws: PageCodecError.badMagic([0x4D, 0x46, 0x41, 0x51])) { try codec.decode(patched(3, [0x51])) }
        #expect(throws: PageCodecError.unsupportedVersion(2)) { try codec.decode(patched(4, [2])) }
        #expect(throws: PageCodecError.unknownStorageType(9)) { try codec.decode(patched(5, [9])) }
        #expect(throws: PageCodecError.unknownFilter(3)) { try codec.decode(patched(6, [3])) }
        #expect(throws: PageCodecError.unknownCompression(2)) { try codec.decode(patched(7, [2])) }
        #expect(throws: PageCodecError.self) { try codec.decode(patched(8, [0, 0, 0, 0])) }
        #expect(throws: PageCodecError.rawLengthMismatch(declared: 257, expected: 512)) {
            try codec.decode(patched(24, [1, 1, 0, 0]))
        }
        #expect(throws: PageCodecError.self) { try codec.decode(patched(28, [0xFF, 0xFF, 0xFF, 0xFF])) }
        // 8 MiB claimed by a 144-byte LZ4 payload: beyond LZ4's 255:1, refused before allocating.
        let huge: [UInt8] = [1, 0, 0, 0, 0, 4, 0, 0, 1, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0x80, 0]
        #expect(throws: PageCodecError.impossiblePayloadLength(declared: 144, rawLength: 8 << 20, compression: .lz4)) {
            try codec.decode(patched(8, huge))
        }
        #expect(throws: PageCodecError.self) { try codec.decode(patched(7, [0])) }
    }

    @Test("layouts with empty or oversized dimensions are refused")
    func layoutValidation() {
        #expect(throws: PageCodecError.self) {
            try PageLayout(layers: 0, pageSize: 16, kvHeads: 1, headDim: 1, storage: .f16)
        }
        #expect(throws: PageCodecError.self) {
            try PageLayout(layers: 1, pageSize: -1, kvHeads: 1, headDim: 1, storage: .f16)
        }
        #expect(throws: PageCodecError.self) {
            try PageLayout(layers: 1 << 20, pageSize: 1 << 20, kvHeads: 1 << 20, headDim: 1 << 20, storage: .int8)
        }
        #expect(throws: PageCodecError.self) {
            let layout = try PageLayout(layers: 1, pageSize: 1, kvHeads: 1, headDim: 4, storage: .f32)
            return try RawPage(layout: layout, bytes: [1, 2, 3])
        }
    }

    /// The filters exactly as the spec defines them, element by element.
    func referenceFilter(_ filter: PageFilter, section: [UInt8], elementSize s: Int) -> [UInt8] {
        let n = section.count / s
        var planes = [UInt8](repeating: 0, count: section.count)
        for i in 0..<n { for j in 0..<s { planes[j * n + i] = section[i * s + j] } }
        guard filter == .bitShuffle else { return filter == .none ? section : planes }
        var out = [UInt8]()
        let m = n / 8
        for j in 0..<s {
            let plane = planes[(j * n)..<(j * n + n)]
            for k in 0..<8 {
                for g in 0..<m {
                    var byte: UInt8 = 0
                    for i in 0..<8 { byte |= ((plane[plane.startIndex + 8 * g + i] >> k) & 1) << i }
                    out.append(byte)
                }
            }
            out.append(contentsOf: plane[(plane.startIndex + 8 * m)...])
        }
        return out
    }

    @Test("filtered payloads match the spec's byte-plane and bit-plane definitions", arguments: KVStorageType.allCases)
    func filtersMatchDefinition(storage: KVStorageType) throws {
        let layout = try PageLayout(layers: 1, pageSize: 5, kvHeads: 3, headDim: 29, storage: storage)
        var rng = SplitMix64(seed: 11)
        let page = try RawPage(
            layout: layout,
            bytes: (0..<layout.rawByteCount).map { _ in UInt8.random(in: 0...255, using: &rng) }
        )
        for filter in PageFilter.allCases {
            let encoded = codec.encode(page, encoding: PageEncoding(filter: filter, compression: .raw))
            let elements = Array(page.bytes[0..<layout.elementByteCount])
            let scales = Array(page.bytes[layout.elementByteCount...])
            let expected =
                referenceFilter(filter, section: elements, elementSize: storage.bytesPerElement)
                + referenceFilter(filter, section: scales, elementSize: 4)
            #expect(Array(encoded[PageHeader.byteCount...]) == expected, "\(filter)")
        }
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    @Test("test vectors: a tiny bf16 page byte-shuffled and stored raw, and a bit-shuffled LZ4 page")
    func testVectors() throws {
        let tiny = try PageLayout(layers: 1, pageSize: 2, kvHeads: 1, headDim: 4, storage: .bf16)
        let values: [Float] = [1, -2, 0.5, 3, 0, 0.25, -1, 8, 1.5, 2, -0.5, 4, 16, -8, 0.125, 1]
        let page = try RawPage(layout: tiny, values: values)
        let encoded = codec.encode(page, encoding: PageEncoding(filter: .byteShuffle, compression: .raw))
        print("page test vector 1 (bf16 [1, 2, 2, 1, 4], byteshuffle+raw): \(Self.hex(encoded))")
        #expect(Self.hex(encoded) == Self.vector1)
        #expect(try codec.decode(encoded) == page)

        let (lz4Page, lz4Encoded) = try compressiblePage()
        print("page test vector 2 (bf16 [1, 2, 8, 2, 8], bitshuffle+lz4): \(Self.hex(lz4Encoded))")
        #expect(Self.hex(lz4Encoded) == Self.vector2)
        #expect(try codec.decode(lz4Encoded) == lz4Page)
    }

    static let vector1 =
        "4d46415001020100010000000200000001000000040000002000000020000000c6c2e05653f1cd78"
        + "8000004000808000c0000080800000803fc03f40003ebf413f40bf4041c13e3f"
    static let vector2 =
        "4d46415001020201010000000800000002000000080000000002000090000000aa8214af6ffeca781f000100ccff512f"
        + "28cada15e5b8d2f36f8a8e1a091e79968900795cd7785b3cb819e5de99843440540425e21a012c080000106496608001"
        + "14c606a20001a04241441201201a836f7ccefff7ffb9fefb6f8a9e7e9f7ef9979dc67ffed779fb7ef95df7dfb99eb720"
        + "006d0fbf010df01147548eefe39a11acd82e8298769778c99195c60ebec239a36ac155f319301e83"
}

import Kernels
import Testing

@testable import Worker

@Suite("Per-layer page store: writes, copies, export and import")
struct KVPageStoreTests {
    /// Fills every slot of `page` in every layer with random tokens.
    private func fill(_ store: inout KVPageStore, page: Int, random: inout SplitMix64) throws {
        let geometry = store.geometry
        for layer in 0..<geometry.layers {
            for slot in 0..<geometry.pageSize {
                try store.write(
                    layer: layer,
                    page: page,
                    slot: slot,
                    keys: random.floats(geometry.tokenWidth, in: -4..<4)[...],
                    values: random.floats(geometry.tokenWidth, in: -4..<4)[...]
                )
            }
        }
    }

    @Test("export then import is bit-exact", arguments: KVStorageType.allCases)
    func roundTrip(storage: KVStorageType) throws {
        let geometry = try smallGeometry(storage, layers: 3)
        var store = try KVPageStore(geometry: geometry, pageCount: 4)
        var random = SplitMix64(seed: 7)
        try fill(&store, page: 1, random: &random)
        let exported = try store.exportPage(1)
        #expect(exported.count == geometry.bytesPerPage)
        #expect(exported.contains { $0 != 0 })

        try store.importPage(exported, into: 3)
        #expect(try store.exportPage(3) == exported)
        var other = try KVPageStore(geometry: geometry, pageCount: 2)
        try other.importPage(exported, into: 0)
        #expect(try other.exportPage(0) == exported)
        let pool = try store.pool(layer: 2)
        let otherPool = try other.pool(layer: 2)
        let rows = geometry.pageSize * geometry.kvHeads
        let width = rows * geometry.headDim
        #expect(Array(pool.values.dequantized()[width..<2 * width]) == Array(otherPool.values.dequantized()[0..<width]))
        if storage == .int8 {
            #expect(Array(pool.keys.scales[rows..<2 * rows]) == Array(otherPool.keys.scales[0..<rows]))
        }
        #expect(try store.exportPage(0).allSatisfy { $0 == 0 })
    }

    @Test("the canonical layout is [layers, K/V, pageSize, kvHeads, headDim] then int8 scales")
    func layout() throws {
        for storage in [KVStorageType.f32, .int8] {
            let geometry = try smallGeometry(storage)
            var store = try KVPageStore(geometry: geometry, pageCount: 2)
            let keys = (0..<8).map { Float($0) }
            let values = (0..<8).map { Float(-$0 - 1) * 0.5 }
            try store.write(layer: 1, page: 1, slot: 2, keys: keys[...], values: values[...])
            let bytes = try store.exportPage(1)
            let elementsPerSide = geometry.pageSize * geometry.tokenWidth
            let element = storage.bytesPerElement
            let valueOffset =
                ((1 * 2 + 1) * elementsPerSide + 2 * geometry.tokenWidth + 1 * geometry.headDim + 3) * element
            if storage == .f32 {
                let bits = (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[valueOffset + $1]) << (8 * $1) }
                #expect(Float(bitPattern: bits) == values[7])
            } else {
                #expect(Int8(bitPattern: bytes[valueOffset]) == -127)
                let scaleIndex = (1 * 2 + 1) * geometry.pageSize * geometry.kvHeads + 2 * geometry.kvHeads + 1
                let scaleOffset = 2 * geometry.layers * elementsPerSide * element + 4 * scaleIndex
                let bits = (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[scaleOffset + $1]) << (8 * $1) }
                #expect(Float(bitPattern: bits) == Float(4) / 127)
            }
        }
    }

    @Test("import checks the length and the int8 scales and leaves the page unchanged on error")
    func importValidation() throws {
        let geometry = try smallGeometry(.int8)
        var store = try KVPageStore(geometry: geometry, pageCount: 2)
        var random = SplitMix64(seed: 11)
        try fill(&store, page: 0, random: &random)
        let before = try store.exportPage(0)
        #expect(throws: StorageError.pageBytesLength(expected: geometry.bytesPerPage, actual: 5)) {
            try store.importPage([1, 2, 3, 4, 5], into: 0)
        }
        var corrupt = [UInt8](repeating: 0, count: geometry.bytesPerPage)
        let nan = Float.nan.bitPattern
        for i in 0..<4 { corrupt[geometry.bytesPerPage - 4 + i] = UInt8(truncatingIfNeeded: nan >> (8 * UInt32(i))) }
        #expect(throws: StorageError.self) { try store.importPage(corrupt, into: 0) }
        #expect(throws: StorageError.unknownPage(page: 2, pageCount: 2)) { try store.importPage(before, into: 2) }
        #expect(try store.exportPage(0) == before)
    }

    @Test("copying a page copies every layer", arguments: [KVStorageType.f16, .int8])
    func copy(storage: KVStorageType) throws {
        let geometry = try smallGeometry(storage)
        var store = try KVPageStore(geometry: geometry, pageCount: 3)
        var random = SplitMix64(seed: 3)
        try fill(&store, page: 2, random: &random)
        try store.copyPage(from: 2, to: 0)
        #expect(try store.exportPage(0) == store.exportPage(2))
        #expect(try store.exportPage(1).allSatisfy { $0 == 0 })
    }

    @Test("writes check layer, page, slot and token width")
    func writeValidation() throws {
        var store = try KVPageStore(geometry: try smallGeometry(), pageCount: 2)
        let token = [Float](repeating: 1, count: 8)
        #expect(throws: StorageError.layerOutOfRange(layer: 2, layers: 2)) {
            try store.write(layer: 2, page: 0, slot: 0, keys: token[...], values: token[...])
        }
        #expect(throws: StorageError.unknownPage(page: 5, pageCount: 2)) {
            try store.write(layer: 0, page: 5, slot: 0, keys: token[...], values: token[...])
        }
        #expect(throws: StorageError.slotOutOfRange(slot: 4, pageSize: 4)) {
            try store.write(layer: 0, page: 0, slot: 4, keys: token[...], values: token[...])
        }
        #expect(throws: StorageError.shapeMismatch(what: "token values", expected: 8, actual: 7)) {
            try store.write(layer: 0, page: 0, slot: 0, keys: token[...], values: token.dropLast())
        }
        #expect(try store.exportPage(0).allSatisfy { $0 == 0 })
    }
}

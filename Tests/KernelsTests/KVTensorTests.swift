import Kernels
import TestSupport
import Testing

/// Storing K/V rounds or quantises each element as its storage type documents.
@Suite struct KVTensorTests {
    /// int8: scale = max|x| / 127 per row, every element within half a step of its value.
    @Test func int8QuantisationRoundTrip() throws {
        var generator = SplitMix64.fresh()
        let d = 80
        var values = generator.floats(7 * d).map { $0 * 3 }
        values.replaceSubrange(2 * d..<3 * d, with: [Float](repeating: 0, count: d))
        let tensor = try KVTensor(values, rowLength: d, storage: .int8)
        #expect(tensor.rowCount == 7 && tensor.count == 7 * d && tensor.bytes.count == 7 * d)
        let restored = tensor.dequantized()
        for row in 0..<7 {
            let slice = values[row * d..<(row + 1) * d]
            let scale = (slice.map(abs).max() ?? 0) / 127
            #expect(tensor.scales[row] == scale, "row \(row), seed \(generator.seed)")
            for i in row * d..<(row + 1) * d {
                #expect(abs(restored[i] - values[i]) <= scale * 0.5001, "element \(i), seed \(generator.seed)")
            }
        }
        #expect(restored[2 * d..<3 * d].allSatisfy { $0 == 0 })
        var error = 0.0
        var norm = 0.0
        for (a, b) in zip(restored, values) {
            error += Double(a - b) * Double(a - b)
            norm += Double(b) * Double(b)
        }
        #expect((error / norm).squareRoot() < 0.01, "seed \(generator.seed)")
    }

    /// f32 is exact, f16 rounds like `Float16`, bf16 like `BFloat16`.
    @Test func floatingStorageRounding() throws {
        var generator = SplitMix64.fresh()
        let values = generator.floats(3 * 32).map { $0 * 100 }
        #expect(try KVTensor(values, rowLength: 32, storage: .f32).dequantized() == values)
        #expect(try KVTensor(values, rowLength: 32, storage: .f16).dequantized() == values.map { Float(Float16($0)) })
        #expect(
            try KVTensor(values, rowLength: 32, storage: .bf16).dequantized() == values.map { BFloat16($0).floatValue }
        )
        #expect(try KVTensor(values, rowLength: 32, storage: .f16).bytes.count == values.count * 2)
    }

    @Test func rejectsBadRows() {
        #expect(throws: KernelError.self) { try KVTensor([1, 2, 3], rowLength: 2, storage: .f16) }
        #expect(throws: KernelError.self) { try KVTensor([1, 2], rowLength: 0, storage: .f32) }
    }

    /// A pool writes each token's heads into `[P, pageSize, Hkv, D]` and refuses bad slots.
    @Test func pagePoolLayoutAndBounds() throws {
        var pool = try KVPagePool(pageCount: 3, pageSize: 4, kvHeads: 2, headDim: 8, storage: .f32)
        let keys = (0..<16).map(Float.init)
        let values = keys.map { -$0 }
        try pool.write(page: 2, slot: 1, keys: keys, values: values)
        let row = (2 * 4 + 1) * 2
        #expect(Array(pool.keys.dequantized()[row * 8..<(row + 2) * 8]) == keys)
        #expect(Array(pool.values.dequantized()[row * 8..<(row + 2) * 8]) == values)
        #expect(throws: KernelError.self) { try pool.write(page: 3, slot: 0, keys: keys, values: values) }
        #expect(throws: KernelError.self) { try pool.write(page: 0, slot: 4, keys: keys, values: values) }
        #expect(throws: KernelError.self) { try pool.write(page: 0, slot: 0, keys: [1], values: values) }
        #expect(throws: KernelError.self) {
            try KVPagePool(pageCount: 0, pageSize: 4, kvHeads: 2, headDim: 8, storage: .f32)
        }
    }
}

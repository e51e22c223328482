import Foundation
import Kernels

/// A page pool filled with random K/V and per-sequence block tables over shuffled, non-contiguous
/// pages (each table has one more page than its sequence needs, and spare pages hold garbage that
/// no sequence may read).
struct PagedProblem {
    var pool: KVPagePool
    var blockTables: [[Int]]
    var kvLengths: [Int]

    init(
        kvLengths: [Int],
        pageSize: Int,
        kvHeads: Int,
        headDim: Int,
        storage: KVStorageType,
        using generator: inout SplitMix64
    ) throws {
        let pagesPerSequence = kvLengths.map { ($0 + pageSize - 1) / pageSize + 1 }
        let pageCount = pagesPerSequence.reduce(0, +) + 3
        var pool = try KVPagePool(
            pageCount: pageCount,
            pageSize: pageSize,
            kvHeads: kvHeads,
            headDim: headDim,
            storage: storage
        )
        // Each head's row gets its own magnitude, 1/8 to 8 times, so that per-row int8 scales differ
        // and a scale applied to the wrong key or head shows in the output.
        func rows(using generator: inout SplitMix64) -> [Float] {
            var elements = generator.floats(kvHeads * headDim)
            for head in 0..<kvHeads {
                let factor = Float(pow(2, Double.random(in: -3...3, using: &generator)))
                for d in 0..<headDim { elements[head * headDim + d] *= factor }
            }
            return elements
        }
        for page in 0..<pageCount {
            for slot in 0..<pageSize {
                try pool.write(
                    page: page,
                    slot: slot,
                    keys: rows(using: &generator),
                    values: rows(using: &generator)
                )
            }
        }
        var pages = Array(0..<pageCount).shuffled(using: &generator)
        var tables: [[Int]] = []
        for count in pagesPerSequence {
            tables.append(Array(pages.prefix(count)))
            pages.removeFirst(count)
        }
        self.pool = pool
        self.blockTables = tables
        self.kvLengths = kvLengths
    }
}

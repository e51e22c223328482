import Kernels
import TestSupport
import Testing

/// Paged attention against the float64 reference: shuffled block tables, page sizes 16 and 7,
/// decode (Nq = 1), speculative verify (a few queries) and chunked prefill (many queries).
@Suite struct PagedAttentionTests {
    struct PagedCase: Sendable, CustomStringConvertible {
        var queryLength: Int
        var pageSize: Int
        var queryHeads: Int
        var kvHeads: Int
        var headDim: Int
        var causal: Bool
        var extra: String
        var storage: KVStorageType
        /// Worker threads (`nil`: every core).
        var threads: Int? = nil
        var description: String {
            "Nq\(queryLength) page\(pageSize) Hq\(queryHeads) Hkv\(kvHeads) D\(headDim) \(storage)"
                + (causal ? " causal" : "") + (extra.isEmpty ? "" : " \(extra)")
        }

        func options(using generator: inout SplitMix64) -> AttentionOptions {
            var options = AttentionOptions(causal: causal, threads: threads)
            switch extra {
            case "window": options.window = AttentionWindow(left: 11, right: 0)
            case "softcap alibi":
                options.scale = 0.8
                options.softcap = 2
                options.alibiSlopes = (0..<queryHeads).map { _ in Float.random(in: 0.01...0.2, using: &generator) }
            case "block-sparse": options.blockSparse = AttentionCase.randomMask(positions: 97, using: &generator)
            default: break
            }
            return options
        }
    }

    static let cases: [PagedCase] = {
        var cases: [PagedCase] = []
        let shapes: [(nq: Int, causal: Bool, extra: String)] = [
            (1, false, ""), (1, true, "window"), (4, true, ""), (4, true, "softcap alibi"), (17, true, ""),
            (17, false, "block-sparse"),
        ]
        for storage in KVStorageType.allCases {
            for (index, shape) in shapes.enumerated() {
                let ratio = [1, 2, 4, 8][(index + storage.bytesPerElement) % 4]
                cases.append(
                    PagedCase(
                        queryLength: shape.nq,
                        pageSize: index % 2 == 0 ? 16 : 7,
                        queryHeads: ratio * 2,
                        kvHeads: 2,
                        headDim: [32, 64, 80, 128][index % 4],
                        causal: shape.causal,
                        extra: shape.extra,
                        storage: storage
                    )
                )
            }
        }
        // Eight KV heads on one thread: one decode item then holds every head of a sequence, and
        // whole blocks take the decode kernel's vectorised gathers.
        for storage in KVStorageType.allCases {
            cases.append(
                PagedCase(
                    queryLength: 1,
                    pageSize: 16,
                    queryHeads: 32,
                    kvHeads: 8,
                    headDim: 128,
                    causal: false,
                    extra: "",
                    storage: storage,
                    threads: 1
                )
            )
        }
        cases.append(
            PagedCase(
                queryLength: 2,
                pageSize: 16,
                queryHeads: 16,
                kvHeads: 8,
                headDim: 64,
                causal: true,
                extra: "window",
                storage: .int8,
                threads: 1
            )
        )
        return cases
    }()

    @Test("paged", arguments: cases)
    func matchesReference(_ testCase: PagedCase) throws {
        var generator = SplitMix64.fresh()
        // Lengths: exactly Nq, ragged, a multiple of the page size, and the largest the mask covers.
        let kvLengths = [testCase.queryLength, 33, 4 * testCase.pageSize, 97]
        let problem = try PagedProblem(
            kvLengths: kvLengths,
            pageSize: testCase.pageSize,
            kvHeads: testCase.kvHeads,
            headDim: testCase.headDim,
            storage: testCase.storage,
            using: &generator
        )
        let options = testCase.options(using: &generator)
        let q = generator.floats(kvLengths.count * testCase.queryLength * testCase.queryHeads * testCase.headDim)
        let result = try PagedAttention.run(
            q: q,
            queryLength: testCase.queryLength,
            queryHeads: testCase.queryHeads,
            pool: problem.pool,
            blockTables: problem.blockTables,
            kvLengths: kvLengths,
            options: options
        )
        let reference = ReferenceAttention.paged(
            q: q,
            queryLength: testCase.queryLength,
            queryHeads: testCase.queryHeads,
            pool: problem.pool,
            blockTables: problem.blockTables,
            kvLengths: kvLengths,
            options: options
        )
        let deviation = AttentionDeviation(result, reference: reference)
        #expect(deviation.isWithin(testCase.storage.outputTolerance), "seed \(generator.seed): \(deviation)")
    }

    /// Without the causal mask, a sequence holding fewer keys than it has queries (a shard holding
    /// the early tokens of a sequence) lets every query see every key it holds; one holding none
    /// answers zeros and lse -inf. Nq 3 takes the decode kernel, Nq 40 the tiled one.
    @Test("non-causal paged attention over fewer keys than queries", arguments: [3, 40])
    func fewerKeysThanQueries(queryLength: Int) throws {
        var generator = SplitMix64.fresh()
        let kvLengths = [2, 0, 1, 19]
        let problem = try PagedProblem(
            kvLengths: kvLengths,
            pageSize: 16,
            kvHeads: 2,
            headDim: 32,
            storage: .f32,
            using: &generator
        )
        let q = generator.floats(kvLengths.count * queryLength * 4 * 32)
        let result = try PagedAttention.run(
            q: q,
            queryLength: queryLength,
            queryHeads: 4,
            pool: problem.pool,
            blockTables: problem.blockTables,
            kvLengths: kvLengths,
            options: AttentionOptions(threads: 2)
        )
        let reference = ReferenceAttention.paged(
            q: q,
            queryLength: queryLength,
            queryHeads: 4,
            pool: problem.pool,
            blockTables: problem.blockTables,
            kvLengths: kvLengths,
            options: AttentionOptions()
        )
        let deviation = AttentionDeviation(result, reference: reference)
        #expect(deviation.isWithin(KVStorageType.f32.outputTolerance), "seed \(generator.seed): \(deviation)")
        let empty = queryLength * 4
        #expect(result.logSumExp[empty..<2 * empty].allSatisfy { $0 == -.infinity }, "seed \(generator.seed)")
        #expect(result.output[empty * 32..<2 * empty * 32].allSatisfy { $0 == 0 }, "seed \(generator.seed)")
    }

    /// A window that ends before the keys a query could see leaves it empty in paged attention too.
    @Test func emptyWindowRowsAreZero() throws {
        var generator = SplitMix64.fresh()
        let problem = try PagedProblem(
            kvLengths: [20],
            pageSize: 7,
            kvHeads: 1,
            headDim: 32,
            storage: .f32,
            using: &generator
        )
        // Left side 0 and right side 0 on non-causal attention keeps only the diagonal; all
        // positions exist, so nothing is empty; a block-sparse mask removing every tile empties all.
        var options = AttentionOptions(window: AttentionWindow(left: 0, right: 0))
        options.blockSparse = BlockSparseMask(queryTiles: 1, keyTiles: 1, allowed: [false])
        let result = try PagedAttention.run(
            q: generator.floats(3 * 32),
            queryLength: 3,
            queryHeads: 1,
            pool: problem.pool,
            blockTables: problem.blockTables,
            kvLengths: problem.kvLengths,
            options: options
        )
        #expect(result.logSumExp == [-.infinity, -.infinity, -.infinity], "seed \(generator.seed)")
        #expect(result.output.allSatisfy { $0 == 0 }, "seed \(generator.seed)")
    }
}

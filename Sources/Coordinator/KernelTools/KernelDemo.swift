import Foundation
import Kernels

/// The kernel demo `mfa-coordinator run` performs: a small model workload on random data, checked
/// against the dense kernel.
///
/// Sequences of different lengths are prefilled together with packed varlen attention (causal),
/// their K/V written to an f16 page pool through shuffled block tables; then every sequence decodes
/// `decodeSteps` tokens with paged attention, each step also computed as two shards (the first and
/// second half of every block table) merged. Every result is compared with the dense kernel on the
/// same stored K/V.
struct KernelDemo: Sendable {
    /// Prompt tokens per sequence; each more than one page, so that both decode shards hold keys.
    var promptLengths = [37, 100, 64, 129]
    /// Decode steps after the prefill.
    var decodeSteps = 16
    /// Query heads, KV heads and head dimension.
    var queryHeads = 8
    var kvHeads = 2
    var headDim = 64
    /// Tokens per page.
    var pageSize = 16
    /// Largest accepted absolute difference between a kernel's result and the dense check.
    var tolerance: Float = 1e-4
    /// Seed of the random data.
    var seed: UInt64 = 2024

    /// What the demo did and how close every result was to its check.
    struct Report: Sendable {
        /// Human-readable lines describing the run.
        var lines: [String]
        /// Whether every check stayed within the tolerance.
        var passed: Bool
    }

    /// Runs the workload and its checks.
    func run() throws(KernelError) -> Report {
        for length in promptLengths where length <= pageSize {
            throw .invalidDimension(name: "prompt length (must exceed the page size \(pageSize))", value: length)
        }
        var generator = SplitMix64(seed: seed)
        let width = kvHeads * headDim
        let batch = promptLengths.count
        // Pages for prompt + decode tokens, handed out from a shuffled free list.
        let pagesPerSequence = promptLengths.map { ($0 + decodeSteps + pageSize - 1) / pageSize }
        var pool = try KVPagePool(
            pageCount: pagesPerSequence.reduce(0, +), pageSize: pageSize, kvHeads: kvHeads, headDim: headDim,
            storage: .f16)
        var freePages = Array(0..<pool.pageCount).shuffled(using: &generator)
        var blockTables: [[Int]] = []
        for count in pagesPerSequence {
            blockTables.append(Array(freePages.prefix(count)))
            freePages.removeFirst(count)
        }
        // Each sequence's K and V history, [token][Hkv * D].
        var keys = promptLengths.map { length in (0..<length).map { _ in generator.floats(width) } }
        var values = promptLengths.map { length in (0..<length).map { _ in generator.floats(width) } }

        // Prefill: packed varlen over all prompts, then written to the pool.
        var offsets = [0]
        for length in promptLengths { offsets.append(offsets[offsets.count - 1] + length) }
        let promptQueries = generator.floats(offsets[batch] * queryHeads * headDim)
        let causal = AttentionOptions(causal: true)
        let packedKeys = try KVTensor(keys.flatMap { $0.flatMap { $0 } }, rowLength: headDim, storage: .f16)
        let packedValues = try KVTensor(values.flatMap { $0.flatMap { $0 } }, rowLength: headDim, storage: .f16)
        let prefillStart = ContinuousClock.now
        let prefill = try FlashAttention.varlen(
            q: promptQueries, k: packedKeys, v: packedValues, queryOffsets: offsets, keyOffsets: offsets,
            queryHeads: queryHeads, kvHeads: kvHeads, headDim: headDim, options: causal)
        let prefillTime = ContinuousClock.now - prefillStart
        for b in 0..<batch {
            for t in 0..<promptLengths[b] {
                try pool.write(page: blockTables[b][t / pageSize], slot: t % pageSize, keys: keys[b][t], values: values[b][t])
            }
        }
        var prefillError: Float = 0
        for b in 0..<batch {
            let rows = (offsets[b]..<offsets[b + 1]).map { token in
                Array(promptQueries[token * queryHeads * headDim..<(token + 1) * queryHeads * headDim])
            }
            let dense = try denseCheck(queries: rows, keys: keys[b], values: values[b])
            for (i, token) in (offsets[b]..<offsets[b + 1]).enumerated() {
                let packed = Array(prefill.output[token * queryHeads * headDim..<(token + 1) * queryHeads * headDim])
                prefillError = max(prefillError, maxDifference(packed, dense[i]))
            }
        }

        // Decode: one token per sequence per step, paged, and as two merged shards.
        var lengths = promptLengths
        var decodeTime = Duration.zero
        var decodeError: Float = 0
        var mergeError: Float = 0
        for _ in 0..<decodeSteps {
            for b in 0..<batch {
                let k = generator.floats(width)
                let v = generator.floats(width)
                try pool.write(page: blockTables[b][lengths[b] / pageSize], slot: lengths[b] % pageSize, keys: k, values: v)
                keys[b].append(k)
                values[b].append(v)
                lengths[b] += 1
            }
            let q = generator.floats(batch * queryHeads * headDim)
            let start = ContinuousClock.now
            let paged = try PagedAttention.run(
                q: q, queryLength: 1, queryHeads: queryHeads, pool: pool, blockTables: blockTables, kvLengths: lengths,
                options: causal)
            decodeTime += ContinuousClock.now - start
            // Two shards: the first half of each table's used pages, and the rest.
            let split = lengths.map { max(($0 + pageSize - 1) / pageSize / 2, 1) }
            let first = try PagedAttention.run(
                q: q, queryLength: 1, queryHeads: queryHeads, pool: pool,
                blockTables: (0..<batch).map { Array(blockTables[$0].prefix(split[$0])) },
                kvLengths: (0..<batch).map { split[$0] * pageSize },
                options: causal)
            let second = try PagedAttention.run(
                q: q, queryLength: 1, queryHeads: queryHeads, pool: pool,
                blockTables: (0..<batch).map { Array(blockTables[$0].dropFirst(split[$0])) },
                kvLengths: (0..<batch).map { lengths[$0] - split[$0] * pageSize },
                options: causal)
            let merged = try AttentionMerge.merge([first, second], headDim: headDim)
            mergeError = max(mergeError, maxDifference(merged.output, paged.output))
            for b in 0..<batch {
                let row = Array(q[b * queryHeads * headDim..<(b + 1) * queryHeads * headDim])
                let dense = try denseCheck(queries: [row], keys: keys[b], values: values[b])
                let pagedRow = Array(paged.output[b * queryHeads * headDim..<(b + 1) * queryHeads * headDim])
                decodeError = max(decodeError, maxDifference(pagedRow, dense[0]))
            }
        }

        let prefillTokens = offsets[batch]
        let decodedTokens = decodeSteps * batch
        let passed = prefillError <= tolerance && decodeError <= tolerance && mergeError <= tolerance
        let lines = [
            "kernel demo: \(batch) sequences with prompts of \(promptLengths.map(String.init).joined(separator: ", ")) tokens; "
                + "Hq \(queryHeads), Hkv \(kvHeads), D \(headDim); f16 K/V in \(pool.pageCount) pages of \(pageSize) tokens, shuffled",
            "prefill: \(prefillTokens) tokens, packed varlen causal attention in \(milliseconds(prefillTime)) ms; "
                + "max |varlen - dense| = \(scientific(prefillError))",
            "decode: \(decodeSteps) steps x \(batch) sequences = \(decodedTokens) tokens, paged attention in "
                + "\(milliseconds(decodeTime)) ms (\(Int(Double(decodedTokens) / max(seconds(decodeTime), 1e-9))) tokens/s); "
                + "max |paged - dense| = \(scientific(decodeError))",
            "shards: every decode step also computed as 2 page shards merged; max |merged - paged| = \(scientific(mergeError))",
            passed ? "all checks passed (tolerance \(scientific(tolerance)))" : "CHECK FAILED (tolerance \(scientific(tolerance)))",
        ]
        return Report(lines: lines, passed: passed)
    }

    /// The dense kernel on one sequence: `queries` are the last rows' `[Hq * D]` vectors, aligned
    /// bottom-right against `keys` and `values` (`[token][Hkv * D]`); returns each row's output.
    private func denseCheck(queries: [[Float]], keys: [[Float]], values: [[Float]]) throws(KernelError) -> [[Float]] {
        let (nq, nk, d) = (queries.count, keys.count, headDim)
        var q = [Float](repeating: 0, count: queryHeads * nq * d)
        for i in 0..<nq {
            for h in 0..<queryHeads {
                for e in 0..<d { q[(h * nq + i) * d + e] = queries[i][h * d + e] }
            }
        }
        func headMajor(_ rows: [[Float]]) -> [Float] {
            var out = [Float](repeating: 0, count: kvHeads * nk * d)
            for t in 0..<nk {
                for h in 0..<kvHeads {
                    for e in 0..<d { out[(h * nk + t) * d + e] = rows[t][h * d + e] }
                }
            }
            return out
        }
        let result = try FlashAttention.dense(
            q: q, k: try KVTensor(headMajor(keys), rowLength: d, storage: .f16),
            v: try KVTensor(headMajor(values), rowLength: d, storage: .f16),
            shape: DenseAttentionShape(batch: 1, queryHeads: queryHeads, kvHeads: kvHeads, queryLength: nq, keyLength: nk, headDim: d),
            options: AttentionOptions(causal: true))
        var rows: [[Float]] = []
        for i in 0..<nq {
            var row: [Float] = []
            for h in 0..<queryHeads {
                let start = (h * nq + i) * d
                row.append(contentsOf: result.output[start..<start + d])
            }
            rows.append(row)
        }
        return rows
    }

    private func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
        guard a.count == b.count else { return .infinity }
        return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    private func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
    }

    private func milliseconds(_ duration: Duration) -> String { String(format: "%.2f", seconds(duration) * 1000) }

    private func scientific(_ value: Float) -> String { String(format: "%.2e", Double(value)) }
}

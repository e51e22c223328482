import Foundation
import Kernels

/// The float64 attention every test compares against: it follows `AttentionOptions`' documented
/// semantics literally (scale, softcap, ALiBi, causal, window and block-sparse masks, GQA), one
/// row at a time, reading K and V as stored (`KVTensor.dequantized()`), so that comparing a kernel
/// or a worker against it measures their arithmetic, not the storage rounding. Dense, varlen and
/// paged layouts all go through the same `row`.
public enum ReferenceAttention {
    /// Output rows and their log-sum-exp in float64, in the layout of the entry point they mirror.
    public struct Result: Sendable {
        /// The output rows.
        public var output: [Double]
        /// One log-sum-exp a row (-inf for a row that sees no key).
        public var logSumExp: [Double]
    }

    /// Whether a query at aligned position `p` sees key `j` under `options`' masks.
    public static func isVisible(position p: Int, key j: Int, options: AttentionOptions) -> Bool {
        if options.causal, j > p { return false }
        let window = options.window
        if window.left >= 0, j < p - window.left { return false }
        if window.right >= 0, j > p + window.right { return false }
        if let mask = options.blockSparse {
            let row = p >= 0 ? p / BlockSparseMask.queryTileSize : -1
            let column = j / BlockSparseMask.keyTileSize
            guard row >= 0, row < mask.queryTiles, column < mask.keyTiles else { return false }
            return mask.isAllowed(queryTile: row, keyTile: column)
        }
        return true
    }

    /// One query row of head `head` at aligned position `position` against `keyCount` keys; `q`,
    /// `keys` and `values` hold float elements at the offsets the closures give (`headDim` each).
    /// Returns the output row and the log-sum-exp (-inf and zeros when no key is visible).
    public static func row(
        q: [Float],
        queryOffset: Int,
        keys: [Float],
        values: [Float],
        keyOffset: (Int) -> Int,
        keyCount: Int,
        headDim d: Int,
        head: Int,
        position: Int,
        options: AttentionOptions
    ) -> (output: [Double], logSumExp: Double) {
        let scale = Double(options.scale ?? 1 / Float(d).squareRoot())
        var scores: [(key: Int, score: Double)] = []
        for j in 0..<keyCount where isVisible(position: position, key: j, options: options) {
            let base = keyOffset(j)
            var dot = 0.0
            for e in 0..<d { dot += Double(q[queryOffset + e]) * Double(keys[base + e]) }
            var s = scale * dot
            if let cap = options.softcap.map(Double.init) { s = cap * tanh(s / cap) }
            if let slopes = options.alibiSlopes { s += Double(slopes[head]) * Double(j - position) }
            scores.append((j, s))
        }
        guard let maximum = scores.map(\.score).max() else {
            return ([Double](repeating: 0, count: d), -.infinity)
        }
        var sum = 0.0
        var output = [Double](repeating: 0, count: d)
        for (j, s) in scores {
            let weight = exp(s - maximum)
            sum += weight
            let base = keyOffset(j)
            for e in 0..<d { output[e] += weight * Double(values[base + e]) }
        }
        for e in 0..<d { output[e] /= sum }
        return (output, maximum + log(sum))
    }

    /// Dense attention of `shape`: q `[B, Hq, Nq, D]`, k and v `[B, Hkv, Nk, D]`; output
    /// `[B, Hq, Nq, D]`, lse `[B, Hq, Nq]`.
    public static func dense(
        q: [Float],
        k: KVTensor,
        v: KVTensor,
        shape: DenseAttentionShape,
        options: AttentionOptions = AttentionOptions()
    ) -> Result {
        let (batch, queryHeads, kvHeads) = (shape.batch, shape.queryHeads, shape.kvHeads)
        let (nq, nk, d) = (shape.queryLength, shape.keyLength, shape.headDim)
        let keys = k.dequantized()
        let values = v.dequantized()
        let group = queryHeads / kvHeads
        var result = Result(
            output: [Double](repeating: 0, count: batch * queryHeads * nq * d),
            logSumExp: [Double](repeating: 0, count: batch * queryHeads * nq)
        )
        for b in 0..<batch {
            for h in 0..<queryHeads {
                let kvBase = (b * kvHeads + h / group) * nk * d
                for i in 0..<nq {
                    let rowIndex = (b * queryHeads + h) * nq + i
                    let (out, lse) = row(
                        q: q,
                        queryOffset: rowIndex * d,
                        keys: keys,
                        values: values,
                        keyOffset: { kvBase + $0 * d },
                        keyCount: nk,
                        headDim: d,
                        head: h,
                        position: i + nk - nq,
                        options: options
                    )
                    result.output.replaceSubrange(rowIndex * d..<(rowIndex + 1) * d, with: out)
                    result.logSumExp[rowIndex] = lse
                }
            }
        }
        return result
    }

    /// Packed varlen attention: q `[Tq, Hq, D]`, k and v `[Tk, Hkv, D]`, each sequence its own
    /// problem; output `[Tq, Hq, D]`, lse `[Tq, Hq]`.
    public static func varlen(
        q: [Float],
        k: KVTensor,
        v: KVTensor,
        queryOffsets: [Int],
        keyOffsets: [Int],
        queryHeads: Int,
        kvHeads: Int,
        headDim d: Int,
        options: AttentionOptions = AttentionOptions()
    ) -> Result {
        let keys = k.dequantized()
        let values = v.dequantized()
        let group = queryHeads / kvHeads
        let totalQueries = queryOffsets.last ?? 0
        var result = Result(
            output: [Double](repeating: 0, count: totalQueries * queryHeads * d),
            logSumExp: [Double](repeating: 0, count: totalQueries * queryHeads)
        )
        for s in 0..<queryOffsets.count - 1 {
            let nq = queryOffsets[s + 1] - queryOffsets[s]
            let nk = keyOffsets[s + 1] - keyOffsets[s]
            let firstKey = keyOffsets[s]
            for i in 0..<nq {
                for h in 0..<queryHeads {
                    let rowIndex = (queryOffsets[s] + i) * queryHeads + h
                    let kvHead = h / group
                    let (out, lse) = row(
                        q: q,
                        queryOffset: rowIndex * d,
                        keys: keys,
                        values: values,
                        keyOffset: { ((firstKey + $0) * kvHeads + kvHead) * d },
                        keyCount: nk,
                        headDim: d,
                        head: h,
                        position: i + nk - nq,
                        options: options
                    )
                    result.output.replaceSubrange(rowIndex * d..<(rowIndex + 1) * d, with: out)
                    result.logSumExp[rowIndex] = lse
                }
            }
        }
        return result
    }

    /// Paged attention: q `[B, Nq, Hq, D]` against the first `kvLengths[b]` tokens named by each
    /// block table; output `[B, Nq, Hq, D]`, lse `[B, Nq, Hq]`.
    public static func paged(
        q: [Float],
        queryLength nq: Int,
        queryHeads: Int,
        pool: KVPagePool,
        blockTables: [[Int]],
        kvLengths: [Int],
        options: AttentionOptions = AttentionOptions()
    ) -> Result {
        let keys = pool.keys.dequantized()
        let values = pool.values.dequantized()
        let d = pool.headDim
        let kvHeads = pool.kvHeads
        let group = queryHeads / kvHeads
        let batch = kvLengths.count
        var result = Result(
            output: [Double](repeating: 0, count: batch * nq * queryHeads * d),
            logSumExp: [Double](repeating: 0, count: batch * nq * queryHeads)
        )
        for b in 0..<batch {
            let table = blockTables[b]
            let nk = kvLengths[b]
            for i in 0..<nq {
                for h in 0..<queryHeads {
                    let rowIndex = (b * nq + i) * queryHeads + h
                    let kvHead = h / group
                    let (out, lse) = row(
                        q: q,
                        queryOffset: rowIndex * d,
                        keys: keys,
                        values: values,
                        keyOffset: { token in
                            let slot = table[token / pool.pageSize] * pool.pageSize + token % pool.pageSize
                            return (slot * kvHeads + kvHead) * d
                        },
                        keyCount: nk,
                        headDim: d,
                        head: h,
                        position: nk - nq + i,
                        options: options
                    )
                    result.output.replaceSubrange(rowIndex * d..<(rowIndex + 1) * d, with: out)
                    result.logSumExp[rowIndex] = lse
                }
            }
        }
        return result
    }
}

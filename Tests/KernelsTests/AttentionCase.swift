import Kernels
import TestSupport

/// One attention configuration the tests run on fresh random data: sizes, options and storage.
struct AttentionCase: Sendable, CustomStringConvertible {
    var batch = 1
    var queryHeads = 1
    var kvHeads = 1
    var queryLength: Int
    var keyLength: Int
    var headDim: Int
    var causal = false
    var window = AttentionWindow.unbounded
    var softcap: Float?
    var alibi = false
    var blockSparse = false
    var storage = KVStorageType.f32

    var description: String {
        var parts = ["B\(batch) Hq\(queryHeads) Hkv\(kvHeads) Nq\(queryLength) Nk\(keyLength) D\(headDim) \(storage)"]
        if causal { parts.append("causal") }
        if !window.isUnbounded { parts.append("window(\(window.left),\(window.right))") }
        if let softcap { parts.append("softcap \(softcap)") }
        if alibi { parts.append("alibi") }
        if blockSparse { parts.append("block-sparse") }
        return parts.joined(separator: " ")
    }

    /// Random options for this case: ALiBi slopes in 0.01...0.3, and a block-sparse mask over the
    /// grid of key positions `0..<keyLength` (queries sit at the same positions or before) with
    /// about a third of the tiles removed, the diagonal kept.
    func options(using generator: inout SplitMix64) -> AttentionOptions {
        var options = AttentionOptions(causal: causal, window: window, softcap: softcap)
        if softcap != nil { options.scale = 0.7 }
        if alibi {
            options.alibiSlopes = (0..<queryHeads).map { _ in Float.random(in: 0.01...0.3, using: &generator) }
        }
        if blockSparse {
            options.blockSparse = Self.randomMask(positions: keyLength, using: &generator)
        }
        return options
    }

    /// A square tile mask over `positions` positions with about a third of the off-diagonal tiles removed.
    static func randomMask(positions: Int, using generator: inout SplitMix64) -> BlockSparseMask {
        let tiles = max(1, (positions + BlockSparseMask.keyTileSize - 1) / BlockSparseMask.keyTileSize)
        var allowed = [Bool](repeating: true, count: tiles * tiles)
        for r in 0..<tiles {
            for c in 0..<tiles where r != c {
                allowed[r * tiles + c] = Int.random(in: 0..<3, using: &generator) != 0
            }
        }
        return BlockSparseMask(queryTiles: tiles, keyTiles: tiles, allowed: allowed)
    }

    /// The dense shape of this case.
    var shape: DenseAttentionShape {
        DenseAttentionShape(
            batch: batch,
            queryHeads: queryHeads,
            kvHeads: kvHeads,
            queryLength: queryLength,
            keyLength: keyLength,
            headDim: headDim
        )
    }

    /// Runs the dense kernel and the reference on fresh random data.
    func runDense(
        using generator: inout SplitMix64,
        options override: AttentionOptions? = nil
    ) throws -> (result: AttentionResult, reference: ReferenceAttention.Result) {
        let options = override ?? options(using: &generator)
        let q = generator.floats(batch * queryHeads * queryLength * headDim)
        let kvCount = batch * kvHeads * keyLength * headDim
        let k = try KVTensor(generator.floats(kvCount), rowLength: headDim, storage: storage)
        let v = try KVTensor(generator.floats(kvCount), rowLength: headDim, storage: storage)
        let result = try FlashAttention.dense(q: q, k: k, v: v, shape: shape, options: options)
        let reference = ReferenceAttention.dense(q: q, k: k, v: v, shape: shape, options: options)
        return (result, reference)
    }
}

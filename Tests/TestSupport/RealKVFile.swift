import CacheProtocol
import Coordinator
import Testing

/// The real K/V activations of `Tests/Fixtures/minilm-kv-a.npy`: float16 `[6 layers, K/V, 420
/// tokens, 12 heads, 32 dims]` of all-MiniLM-L6-v2 on one English text. Every test that wants real
/// KV data reads it through here.
public enum RealKVFile {
    /// Layers, tokens, heads and head dimension of the file.
    public static let layers = 6, tokens = 420, heads = 12, headDim = 32

    /// Where the file is.
    public static var path: String { Fixtures.path("minilm-kv-a.npy") }

    /// The file parsed, its shape checked (`#require`).
    public static func array() throws -> NPYArray {
        let array = try NPYArray(contentsOf: path)
        try #require(
            array.shape == [layers, 2, tokens, heads, headDim] && array.elementType == .float16,
            "\(path) holds \(array.elementType) \(array.shape)"
        )
        return array
    }

    /// Every value as `Float`, in file order `[layer, kv, token, head, dim]`.
    public static func values() throws -> [Float] {
        try array().values
    }

    /// Elements `[tokens, heads, dims]` of one layer's K (`kv` 0) or V (`kv` 1).
    public static func side(_ all: [Float], layer: Int, kv: Int) -> [Float] {
        let count = tokens * heads * headDim
        let start = (layer * 2 + kv) * count
        return Array(all[start..<start + count])
    }

    /// The values of tokens `first..<first + filled`, padded with zero tokens to `pageSize`, in page
    /// order `[layers, 2, pageSize, heads, headDim]`.
    public static func page(_ all: [Float], first: Int, filled: Int, pageSize: Int = 16) -> [Float] {
        var out = [Float](repeating: 0, count: layers * 2 * pageSize * heads * headDim)
        let row = heads * headDim
        for lk in 0..<(layers * 2) {
            for t in 0..<filled {
                let src = (lk * tokens + first + t) * row
                let dst = (lk * pageSize + t) * row
                out.replaceSubrange(dst..<dst + row, with: all[src..<src + row])
            }
        }
        return out
    }

    /// The page layout of this model with `storage` elements.
    public static func layout(_ storage: KVStorageType, pageSize: Int = 16) throws -> PageLayout {
        try PageLayout(layers: layers, pageSize: pageSize, kvHeads: heads, headDim: headDim, storage: storage)
    }
}

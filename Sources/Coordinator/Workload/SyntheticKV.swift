import Kernels

/// K and V rows a workload sends for its tokens, as a function of (layer, position, token) like a
/// model's: equal prefixes get equal K/V, so a cached page is right exactly when its bytes match
/// what a reference attends over, and any process can recompute a row without storing it.
public struct SyntheticKV: Sendable, Hashable {
    /// Seed shared by every row of a workload.
    public var seed: UInt64
    /// Elements of one row: KV heads × head dimension.
    public var rowWidth: Int

    /// Rows of `rowWidth` values in [-1, 1) derived from `seed`.
    public init(seed: UInt64, rowWidth: Int) {
        self.seed = seed
        self.rowWidth = rowWidth
    }

    /// The K (`value` false) or V row of `token` at `position` in `layer`: `[Hkv * D]` values.
    public func row(layer: Int, position: Int, token: UInt32, value: Bool) -> [Float] {
        var generator = SplitMix64(
            seed: seed ^ (UInt64(layer) << 56) ^ (value ? 1 << 55 : 0) ^ (UInt64(position) << 32) ^ UInt64(token)
        )
        return generator.floats(rowWidth)
    }

    /// The K and V rows of `tokens` placed from `start` on in `layer`, flattened `[T, Hkv, D]`.
    public func rows(layer: Int, start: Int, tokens: some Collection<UInt32>) -> (keys: [Float], values: [Float]) {
        var keys: [Float] = []
        var values: [Float] = []
        keys.reserveCapacity(tokens.count * rowWidth)
        values.reserveCapacity(tokens.count * rowWidth)
        for (offset, token) in tokens.enumerated() {
            keys += row(layer: layer, position: start + offset, token: token, value: false)
            values += row(layer: layer, position: start + offset, token: token, value: true)
        }
        return (keys, values)
    }
}

import CacheProtocol
import Kernels
import TestSupport

/// A sequence driven through a served cluster, with every K/V row it was sent per layer, so that
/// each answer can be checked against the float64 reference.
struct ServedSequence {
    /// The coordinator's id for it.
    var id: UInt64
    /// The worker it was placed on.
    var worker: UInt64
    /// Per layer, its K rows `[tokens, Hkv, D]`, flattened.
    var keys: [[Float]]
    /// Per layer, its V rows.
    var values: [[Float]]

    /// Tokens it holds.
    func length(spec: ModelSpec) -> Int {
        (keys.first?.count ?? 0) / (spec.kvHeads * spec.headDim)
    }

    /// Keeps only the first `length` tokens of every layer.
    mutating func truncate(to length: Int, spec: ModelSpec) {
        let row = spec.kvHeads * spec.headDim
        keys = keys.map { Array($0.prefix(length * row)) }
        values = values.map { Array($0.prefix(length * row)) }
    }

    /// The reference answer of `queries` (the sequence's last `queries.count / (Hq·D)` positions) in
    /// `layer`.
    func reference(queries: [Float], layer: Int, spec: ModelSpec) throws -> ReferenceAttention.Result {
        try ReferenceAttention.sequence(queries: queries, keys: keys[layer], values: values[layer], spec: spec)
    }
}

extension KVStorageType {
    /// Largest accepted difference of a served answer from the float64 reference on values in
    /// `[-4, 4)` (as `WorkerProcessTests`): the f32 arithmetic's for 16-bit storage; for int8, that of
    /// the kernel's integer path for few query rows (8-bit value weights move an output by about
    /// 2/255 of the largest value magnitude).
    var servedTolerance: Double {
        self == .int8 ? 4 * 2 / 255 : 1e-4
    }
}

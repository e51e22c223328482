import CacheProtocol
import Kernels

/// One sequence of a workload as the client knows it: its K/V generator and, when its answers are
/// checked, every layer's K/V history and the tally of its answers against `DenseReference`.
struct CheckedSequence: Sendable {
    /// Where the sequence's K/V rows come from.
    let kv: SyntheticKV
    /// Whether answers are checked (otherwise nothing is kept).
    let checked: Bool
    private let spec: ModelSpec
    private let tolerance: Float
    private let reference: DenseReference
    private var keys: [[[Float]]]
    private var values: [[[Float]]]
    private(set) var checkedAnswers = 0
    private(set) var failedChecks = 0
    private(set) var worstDeviation: Float = 0

    init(spec: ModelSpec, kv: SyntheticKV, checked: Bool, tolerance: Float) {
        self.spec = spec
        self.kv = kv
        self.checked = checked
        self.tolerance = tolerance
        reference = DenseReference(
            queryHeads: spec.queryHeads,
            kvHeads: spec.kvHeads,
            headDim: spec.headDim,
            storage: spec.kvStorage
        )
        keys = Array(repeating: [], count: spec.layers)
        values = Array(repeating: [], count: spec.layers)
    }

    /// Records `tokens` (cached by the cluster) at positions from `start` in every layer's history.
    mutating func remember(_ tokens: some Collection<UInt32>, from start: Int) {
        guard checked else { return }
        for layer in 0..<spec.layers {
            for (offset, token) in tokens.enumerated() {
                keys[layer].append(kv.row(layer: layer, position: start + offset, token: token, value: false))
                values[layer].append(kv.row(layer: layer, position: start + offset, token: token, value: true))
            }
        }
    }

    /// Appends rows sent to the cluster (`[T, Hkv, D]` flattened) to `layer`'s history.
    mutating func append(layer: Int, keys newKeys: [Float], values newValues: [Float]) {
        guard checked else { return }
        let width = spec.kvHeads * spec.headDim
        for start in stride(from: 0, to: newKeys.count, by: width) {
            keys[layer].append(Array(newKeys[start..<start + width]))
            values[layer].append(Array(newValues[start..<start + width]))
        }
    }

    /// Compares the cluster's answer for `queries` (the last rows of `layer`) with the reference.
    mutating func check(layer: Int, queries: [Float], answer: AttentionOutput) {
        guard checked else { return }
        checkedAnswers += 1
        let deviation: Float
        do {
            let expected = try reference.attention(queries: queries, keys: keys[layer], values: values[layer])
            deviation = AnswerDeviation.of(
                output: try answer.output.f32Values(),
                lse: try answer.lse.f32Values(),
                expected: (expected.output, expected.logSumExp)
            )
        } catch {
            deviation = .infinity
        }
        worstDeviation = max(worstDeviation, deviation)
        if !(deviation <= tolerance) { failedChecks += 1 }
    }
}

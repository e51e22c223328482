/// One sequence of the demo workload as its client sees it: tenant, prompt, the id the worker gave
/// it, and every layer's K/V history (what the reference attends over).
struct DemoSequence: Sendable {
    /// A name for the report, such as `acme/1`.
    var label: String
    /// The tenant: part of every prefix key.
    var namespace: String
    /// The prompt's token ids.
    var prompt: [UInt32]
    /// The worker's id for the sequence (0 until opened).
    var id: UInt64 = 0
    /// Leading prompt tokens the worker had cached at open.
    var cachedTokens = 0
    /// Per layer, one `[Hkv * D]` key row per token appended so far.
    var keys: [[[Float]]]
    /// Per layer, one `[Hkv * D]` value row per token appended so far.
    var values: [[[Float]]]

    /// A sequence not yet opened, with empty histories for `layers` layers.
    init(label: String, namespace: String, prompt: [UInt32], layers: Int) {
        self.label = label
        self.namespace = namespace
        self.prompt = prompt
        keys = Array(repeating: [], count: layers)
        values = Array(repeating: [], count: layers)
    }

    /// Tokens appended to `layer`.
    func length(layer: Int) -> Int { keys[layer].count }

    /// Drops every layer's history after `length` tokens (a truncate).
    mutating func truncate(to length: Int) {
        for layer in keys.indices {
            keys[layer].removeLast(max(0, keys[layer].count - length))
            values[layer].removeLast(max(0, values[layer].count - length))
        }
    }
}

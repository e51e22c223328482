/// A prefill in flight.
struct PrefillProgress: Sendable {
    /// The sequence.
    var sequenceID: UInt64
    /// The layer.
    var layer: UInt32
    /// Its start position.
    var start: Int
    /// Its new tokens.
    var tokens: Int
}

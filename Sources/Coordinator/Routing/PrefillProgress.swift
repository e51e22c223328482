import CacheProtocol

/// A prefill in flight.
struct PrefillProgress: Sendable {
    /// The client's prefill, kept so that a layer-0 chunk its tail refuses for want of pages can
    /// go again as a decode, which spills.
    var body: Prefill
    /// The sequence.
    var sequenceID: UInt64 { body.sequenceID }
    /// The layer.
    var layer: UInt32 { body.layer }
    /// Its start position.
    var start: Int { Int(body.startPosition) }
    /// Its new tokens.
    var tokens: Int { body.tokenCount }
}

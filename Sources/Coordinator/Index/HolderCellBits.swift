import CacheProtocol

/// Reads a `HolderCell` from its raw bits as stored in a slab.
struct HolderCellBits {
    /// The raw bits.
    let bits: UInt32

    /// The cell stored as `bits`.
    init(_ bits: UInt32) {
        self.bits = bits
    }

    /// The worker slot.
    var slot: Int { Int(bits & 0xFFFF) }
    /// The tier.
    var tier: CacheTier { CacheTier(rawValue: UInt8(truncatingIfNeeded: bits >> 16)) ?? .hot }
    /// The cell.
    var cell: HolderCell { HolderCell(slot: slot, tier: tier) }
}

import CacheProtocol

/// One (worker, tier) holding of an indexed page, packed in 32 bits: the worker's slot in the
/// low 16 bits, the tier in bits 16–23, bit 31 set. The value 0 means "no holder".
struct HolderCell: Sendable, Hashable {
    /// The packed bits.
    var bits: UInt32

    /// No holder.
    static let empty = HolderCell(bits: 0)

    /// The largest worker slot a cell can name.
    static let maxSlot = Int(UInt16.max)

    /// Worker `slot` (at most `maxSlot`) holding the page in `tier`.
    init(slot: Int, tier: CacheTier) {
        bits = UInt32(truncatingIfNeeded: slot) & 0xFFFF | UInt32(tier.rawValue) << 16 | 1 << 31
    }

    private init(bits: UInt32) {
        self.bits = bits
    }

    /// Whether the cell names a holder.
    var isHolder: Bool { bits != 0 }
    /// The holder's worker slot.
    var slot: Int { Int(bits & 0xFFFF) }
    /// The tier it holds the page in.
    var tier: CacheTier { CacheTier(rawValue: UInt8(truncatingIfNeeded: bits >> 16)) ?? .hot }
}

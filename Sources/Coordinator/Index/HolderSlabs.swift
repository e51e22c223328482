/// The extra holders of keys that more than one worker holds, kept in blocks of contiguous cells
/// so that reading every holder of a widely replicated key is one sequential pass.
///
/// Blocks come in size classes: a block of class `c` is `2^(c+1)` cells, its first cell the count
/// of holders in it, so it lists up to `2^(c+1) - 1` holders. A full block moves to the next class;
/// freed blocks are reused by their class. A list is named by a handle: its class in bits 27–31
/// and its block's index in the low 27 bits.
struct HolderSlabs: Sendable {
    /// Size classes: the largest block lists 65,535 holders, as many as there can be worker slots.
    static let classCount = 16
    private static let blockBits: UInt32 = 27

    private var pools: [[UInt32]] = Array(repeating: [], count: classCount)
    private var freeBlocks: [[UInt32]] = Array(repeating: [], count: classCount)

    /// An empty set of lists.
    init() {}

    private static func cells(ofClass sizeClass: Int) -> Int { 2 << sizeClass }

    private static func split(_ handle: UInt32) -> (sizeClass: Int, base: Int) {
        let sizeClass = Int(handle >> blockBits)
        return (sizeClass, Int(handle & ((1 << blockBits) - 1)) * cells(ofClass: sizeClass))
    }

    /// Holders in the list `handle`.
    func count(_ handle: UInt32) -> Int {
        let (sizeClass, base) = Self.split(handle)
        return Int(pools[sizeClass][base])
    }

    /// Calls `body` with the list's cells (their raw bits) as one buffer.
    @inline(__always)
    func withCells<Result>(_ handle: UInt32, _ body: (UnsafeBufferPointer<UInt32>) -> Result) -> Result {
        let (sizeClass, base) = Self.split(handle)
        return pools[sizeClass].withUnsafeBufferPointer { pool in
            body(UnsafeBufferPointer(rebasing: pool[(base + 1)..<(base + 1 + Int(pool[base]))]))
        }
    }

    /// Appends `cell` to the list `handle` (a new list when `nil`) and returns the list's handle,
    /// which changes when the list moves to a larger block.
    mutating func append(_ cell: HolderCell, to handle: UInt32?) -> UInt32 {
        guard let handle else {
            let fresh = allocate(sizeClass: 0)
            let (_, base) = Self.split(fresh)
            pools[0][base] = 1
            pools[0][base + 1] = cell.bits
            return fresh
        }
        let (sizeClass, base) = Self.split(handle)
        let count = Int(pools[sizeClass][base])
        if count + 1 < Self.cells(ofClass: sizeClass) {
            pools[sizeClass][base + 1 + count] = cell.bits
            pools[sizeClass][base] = UInt32(count + 1)
            return handle
        }
        let larger = allocate(sizeClass: sizeClass + 1)
        let (_, newBase) = Self.split(larger)
        for offset in 0..<count { pools[sizeClass + 1][newBase + 1 + offset] = pools[sizeClass][base + 1 + offset] }
        pools[sizeClass + 1][newBase + 1 + count] = cell.bits
        pools[sizeClass + 1][newBase] = UInt32(count + 1)
        release(handle)
        return larger
    }

    /// Replaces the cell of worker `slot` in the list `handle` with `cell`; returns the cell
    /// replaced, `nil` when the list has no cell of that worker.
    mutating func replace(slot: Int, with cell: HolderCell, in handle: UInt32) -> HolderCell? {
        let (sizeClass, base) = Self.split(handle)
        let count = Int(pools[sizeClass][base])
        for offset in 0..<count {
            let old = HolderCellBits(pools[sizeClass][base + 1 + offset])
            if old.slot == slot {
                pools[sizeClass][base + 1 + offset] = cell.bits
                return old.cell
            }
        }
        return nil
    }

    /// Removes the cell of worker `slot` from the list `handle`. Returns the removed cell (`nil`
    /// when there is none) and the list's handle afterwards (`nil` once it is empty).
    mutating func remove(slot: Int, from handle: UInt32) -> (removed: HolderCell?, handle: UInt32?) {
        let (sizeClass, base) = Self.split(handle)
        let count = Int(pools[sizeClass][base])
        for offset in 0..<count {
            let old = HolderCellBits(pools[sizeClass][base + 1 + offset])
            guard old.slot == slot else { continue }
            pools[sizeClass][base + 1 + offset] = pools[sizeClass][base + count]
            pools[sizeClass][base] = UInt32(count - 1)
            if count == 1 {
                release(handle)
                return (old.cell, nil)
            }
            return (old.cell, handle)
        }
        return (nil, handle)
    }

    /// Takes the list's first cell out, for a key whose inline holder left; the list's handle
    /// afterwards (`nil` once empty).
    mutating func removeFirst(from handle: UInt32) -> (cell: HolderCell, handle: UInt32?) {
        let (sizeClass, base) = Self.split(handle)
        let first = HolderCellBits(pools[sizeClass][base + 1]).cell
        let (_, rest) = remove(slot: first.slot, from: handle)
        return (first, rest)
    }

    /// Bytes the pools have reserved.
    var reservedBytes: Int {
        pools.reduce(0) { $0 + $1.capacity * MemoryLayout<UInt32>.stride }
            + freeBlocks.reduce(0) { $0 + $1.capacity * MemoryLayout<UInt32>.stride }
    }

    private mutating func allocate(sizeClass: Int) -> UInt32 {
        if let block = freeBlocks[sizeClass].popLast() {
            return UInt32(sizeClass) << Self.blockBits | block
        }
        let size = Self.cells(ofClass: sizeClass)
        let block = UInt32(pools[sizeClass].count / size)
        pools[sizeClass].append(contentsOf: repeatElement(0, count: size))
        return UInt32(sizeClass) << Self.blockBits | block
    }

    private mutating func release(_ handle: UInt32) {
        let (sizeClass, base) = Self.split(handle)
        pools[sizeClass][base] = 0
        freeBlocks[sizeClass].append(handle & ((1 << Self.blockBits) - 1))
    }
}

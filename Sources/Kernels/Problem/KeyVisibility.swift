/// Which keys a query at aligned position `p` sees: the causal and window bounds as one inclusive
/// key range, and the block-sparse tile mask on top. Used both to skip whole tiles and to mask the
/// boundary ones.
struct KeyVisibility: Sendable {
    /// Whether keys after the query's position are hidden.
    let causal: Bool
    /// Keys visible before the position, or -1 for all.
    let left: Int
    /// Keys visible after the position, or -1 for all.
    let right: Int
    /// The tile mask, or `nil` for dense.
    let blockSparse: BlockSparseMask?

    /// First visible key of a query at `position` (before clamping to the sequence).
    @inline(__always)
    func firstKey(position: Int) -> Int {
        // Written so that huge window sides cannot overflow.
        left >= 0 && position > left ? position - left : 0
    }

    /// Last visible key of a query at `position` in a sequence of `keyCount` keys; below
    /// `firstKey(position:)` when the query sees nothing.
    @inline(__always)
    func lastKey(position: Int, keyCount: Int) -> Int {
        var last = keyCount - 1
        if causal { last = min(last, position) }
        if right >= 0, right < last - position { last = position + right }
        return last
    }

    /// Most consecutive keys that `positions` consecutive query positions can see between them
    /// (the window's width plus the positions), or `nil` when the window is unbounded on a side.
    func keySpan(positions: Int) -> Int? {
        guard left >= 0 else { return nil }
        let after = causal ? min(right >= 0 ? right : 0, 0) : right
        guard after >= 0 else { return nil }
        let (width, overflow) = left.addingReportingOverflow(after)
        let (span, overflow2) = width.addingReportingOverflow(positions)
        return overflow || overflow2 ? nil : span
    }

    /// Whether block-sparse tile row `queryTile` may see key tile `keyTile` (always true without a
    /// mask). Query positions below 0 (more queries than keys) lie outside the grid and see nothing.
    @inline(__always)
    func tileAllowed(position: Int, keyTile: Int) -> Bool {
        guard let mask = blockSparse else { return true }
        guard position >= 0 else { return false }
        return mask.allowed[(position / BlockSparseMask.queryTileSize) * mask.keyTiles + keyTile]
    }

    /// How a key tile `[keyStart, keyStart + count)` (aligned to the block-sparse key tiles) relates
    /// to every query position in `firstPosition...lastPosition`.
    func classify(keyStart: Int, count: Int, firstPosition: Int, lastPosition: Int, keyCount: Int) -> TileCoverage {
        let keyEnd = keyStart + count - 1
        if keyStart > lastKey(position: lastPosition, keyCount: keyCount)
            || keyEnd < firstKey(position: firstPosition)
        {
            return .hidden
        }
        var full =
            firstKey(position: lastPosition) <= keyStart
            && keyEnd <= lastKey(position: firstPosition, keyCount: keyCount)
        if blockSparse != nil {
            let keyTile = keyStart / BlockSparseMask.keyTileSize
            var any = false
            var all = true
            var tileStart = firstPosition
            while tileStart <= lastPosition {
                let allowed = tileAllowed(position: tileStart, keyTile: keyTile)
                any = any || allowed
                all = all && allowed
                tileStart =
                    tileStart < 0
                    ? 0 : (tileStart / BlockSparseMask.queryTileSize + 1) * BlockSparseMask.queryTileSize
            }
            if !any { return .hidden }
            full = full && all
        }
        return full ? .full : .partial
    }
}

/// How a key tile relates to a block of query rows.
enum TileCoverage: Sendable {
    /// No row sees any key of the tile: it is skipped.
    case hidden
    /// Every row sees every key of the tile: no mask is applied.
    case full
    /// Some pairs are hidden: the tile is computed and masked element by element.
    case partial
}

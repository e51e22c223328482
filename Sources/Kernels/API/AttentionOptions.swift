/// A sliding window around each query's aligned position.
///
/// Positions are aligned bottom-right: with `Nq` queries and `Nk` keys, query `i` sits at key
/// position `i + Nk - Nq`. Query `i` sees key `j` iff `p - left <= j <= p + right` with
/// `p = i + Nk - Nq`; a side of -1 is unbounded.
public struct AttentionWindow: Sendable, Hashable {
    /// Keys visible before the aligned position, or -1 for all.
    public var left: Int
    /// Keys visible after the aligned position, or -1 for all.
    public var right: Int

    /// A window; sides must be >= 0 or -1 (checked by the kernels).
    public init(left: Int, right: Int) {
        self.left = left
        self.right = right
    }

    /// No window: every key is visible (unless `causal` says otherwise).
    public static let unbounded = AttentionWindow(left: -1, right: -1)

    /// Whether both sides are unbounded.
    public var isUnbounded: Bool { left == -1 && right == -1 }
}

/// A tile-level mask: query tile `r` may see key tile `c` iff `allowed[r * keyTiles + c]`.
///
/// Tiles are `BlockSparseMask.queryTileSize` query positions by `BlockSparseMask.keyTileSize` key
/// positions, counted from position 0 of each sequence (for paged attention, query positions are
/// the aligned key positions of the query tokens). One mask applies to every batch entry and head.
/// Tiles that are not allowed are skipped, never computed.
public struct BlockSparseMask: Sendable, Hashable {
    /// Query positions per tile row.
    public static let queryTileSize = 64
    /// Key positions per tile column.
    public static let keyTileSize = 64

    /// Number of query tiles (rows of `allowed`).
    public var queryTiles: Int
    /// Number of key tiles (columns of `allowed`).
    public var keyTiles: Int
    /// Row-major `queryTiles × keyTiles` visibility.
    public var allowed: [Bool]

    /// A mask over `queryTiles × keyTiles` tiles; must cover every tile of the call (checked).
    public init(queryTiles: Int, keyTiles: Int, allowed: [Bool]) {
        self.queryTiles = queryTiles
        self.keyTiles = keyTiles
        self.allowed = allowed
    }

    /// Whether query tile `row` may see key tile `column`.
    @inlinable
    public func isAllowed(queryTile row: Int, keyTile column: Int) -> Bool {
        allowed[row * keyTiles + column]
    }
}

/// Options shared by every attention entry point.
///
/// Scores are `s = scale * q·k`; then softcap (`s = c * tanh(s / c)`), then ALiBi
/// (`s += slope[h] * (j - p)`, with `p` the query's aligned position), then the causal, window and
/// block-sparse masks. A row that sees no key outputs zeros and lse = -inf.
public struct AttentionOptions: Sendable, Hashable {
    /// Softmax scale; `nil` means `1 / sqrt(headDim)`.
    public var scale: Float?
    /// Query `i` sees key `j` only if `j <= i + Nk - Nq` (bottom-right alignment).
    public var causal: Bool
    /// Sliding window on the same alignment.
    public var window: AttentionWindow
    /// Softcap `c > 0`, or `nil` for none.
    public var softcap: Float?
    /// One ALiBi slope per query head, or `nil` for none.
    public var alibiSlopes: [Float]?
    /// Tile-level block-sparse mask, or `nil` for dense.
    public var blockSparse: BlockSparseMask?
    /// Worker threads; `nil` means every core. Results are bit-identical for any count.
    public var threads: Int?

    /// Options with the defaults: scale 1/sqrt(D), not causal, no window, softcap, ALiBi or sparsity,
    /// all cores.
    public init(
        scale: Float? = nil,
        causal: Bool = false,
        window: AttentionWindow = .unbounded,
        softcap: Float? = nil,
        alibiSlopes: [Float]? = nil,
        blockSparse: BlockSparseMask? = nil,
        threads: Int? = nil
    ) {
        self.scale = scale
        self.causal = causal
        self.window = window
        self.softcap = softcap
        self.alibiSlopes = alibiSlopes
        self.blockSparse = blockSparse
        self.threads = threads
    }
}

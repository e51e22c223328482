import Foundation

/// `AttentionOptions` after validation against a call's head count and head dimension: every value
/// the kernels read is present, finite and in range.
struct ResolvedAttentionOptions: Sendable {
    /// Softmax scale applied to `q·k`.
    let scale: Float
    /// Softcap `c`, or `nil`.
    let softcap: Float?
    /// One ALiBi slope per query head, or `nil`.
    let alibiSlopes: [Float]?
    /// Which keys each query position sees.
    let visibility: KeyVisibility
    /// Worker threads to use.
    let threads: Int

    /// Checks `options` for a call with `queryHeads` query heads of `headDim` elements; throws on the
    /// first invalid value (thread count, scale, window, softcap, ALiBi, then the mask's own shape).
    /// Coverage of the block-sparse mask is checked later with `checkCoverage(maxKeyCount:)`.
    init(_ options: AttentionOptions, queryHeads: Int, headDim: Int) throws(KernelError) {
        let threads = options.threads ?? ProcessInfo.processInfo.activeProcessorCount
        guard threads > 0 else { throw .invalidThreadCount(threads) }
        let scale = options.scale ?? 1 / Float(headDim).squareRoot()
        guard scale.isFinite, scale > 0 else { throw .invalidScale(scale) }
        let window = options.window
        guard window.left >= -1, window.right >= -1 else {
            throw .invalidWindow(left: window.left, right: window.right)
        }
        if let cap = options.softcap {
            guard cap.isFinite, cap > 0 else { throw .invalidSoftcap(cap) }
        }
        if let slopes = options.alibiSlopes {
            guard slopes.count == queryHeads, slopes.allSatisfy(\.isFinite) else {
                throw .invalidAlibi(expected: queryHeads, actual: slopes.count)
            }
        }
        if let mask = options.blockSparse {
            guard mask.queryTiles > 0, mask.keyTiles > 0 else {
                throw .invalidBlockSparseMask("tile counts must be positive, got \(mask.queryTiles) × \(mask.keyTiles)")
            }
            let (cells, overflow) = mask.queryTiles.multipliedReportingOverflow(by: mask.keyTiles)
            guard !overflow, mask.allowed.count == cells else {
                throw .invalidBlockSparseMask(
                    "\(mask.queryTiles) × \(mask.keyTiles) tiles need as many flags, got \(mask.allowed.count)"
                )
            }
        }
        self.scale = scale
        self.softcap = options.softcap
        self.alibiSlopes = options.alibiSlopes
        self.visibility = KeyVisibility(
            causal: options.causal,
            left: window.left,
            right: window.right,
            blockSparse: options.blockSparse
        )
        self.threads = threads
    }

    /// Throws unless the block-sparse mask (if any) covers every query and key position of a call
    /// whose longest sequence has `maxKeyCount` keys (query positions are below it too).
    func checkCoverage(maxKeyCount: Int) throws(KernelError) {
        guard let mask = visibility.blockSparse else { return }
        let queryTile = BlockSparseMask.queryTileSize
        let keyTile = BlockSparseMask.keyTileSize
        let neededQueryTiles = maxKeyCount / queryTile + (maxKeyCount % queryTile == 0 ? 0 : 1)
        let neededKeyTiles = maxKeyCount / keyTile + (maxKeyCount % keyTile == 0 ? 0 : 1)
        guard mask.queryTiles >= neededQueryTiles, mask.keyTiles >= neededKeyTiles else {
            throw .invalidBlockSparseMask(
                "\(mask.queryTiles) × \(mask.keyTiles) tiles do not cover positions up to \(maxKeyCount)"
                    + " (need \(neededQueryTiles) × \(neededKeyTiles))"
            )
        }
    }
}

/// How much of a prompt's leading pages one worker holds: the result of
/// `PrefixIndex.leadingRuns(of:credits:)` for one worker.
struct PrefixHolding: Sendable, Hashable {
    /// The worker's slot.
    var slot: Int
    /// Leading pages of the prompt the worker holds, every page before them included.
    var pages: Int
    /// How many of those pages are hot.
    var hotPages: Int
    /// Those pages weighted by their tier's credit (`TierCredits`): what placement counts as cached.
    var credit: Double
}

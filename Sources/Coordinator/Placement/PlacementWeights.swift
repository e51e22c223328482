/// The constants of the `prefix` placement cost (docs/COORDINATOR.md, "Placement", says why each
/// has its value):
///
///     cost(w) = prefillWeight × (promptTokens − pageSize × (credit(w) + pullCredit × pullable(w)))
///             + decodeWeight × decodeLoadTokens(w)
public struct PlacementWeights: Sendable, Hashable {
    /// Weight of one token that must be prefilled.
    public var prefillWeight: Double
    /// Weight of one KV token already resident in the worker's live sequences (each decode step
    /// reads it).
    public var decodeWeight: Double
    /// What a cached page is worth per tier, as a fraction of a hot page.
    public var tierCredits: TierCredits
    /// What a page the worker could pull from another worker is worth, as a fraction of a hot
    /// page it holds itself.
    public var pullCredit: Double
    /// Fewest pages worth a pull: fewer and the sequence is prefilled rather than pulled.
    public var minimumPullPages: Int
    /// KV tokens assumed for each sequence a worker's heartbeat counts but the coordinator's table
    /// does not know (opened before the coordinator restarted).
    public var unreportedSequenceTokens: Int

    /// Weights; the defaults are those docs/COORDINATOR.md explains.
    public init(
        prefillWeight: Double = 1.0,
        decodeWeight: Double = 1.0,
        tierCredits: TierCredits = TierCredits(),
        pullCredit: Double = 0.5,
        minimumPullPages: Int = 1,
        unreportedSequenceTokens: Int = 1024
    ) {
        self.prefillWeight = prefillWeight
        self.decodeWeight = decodeWeight
        self.tierCredits = tierCredits
        self.pullCredit = pullCredit
        self.minimumPullPages = minimumPullPages
        self.unreportedSequenceTokens = unreportedSequenceTokens
    }
}

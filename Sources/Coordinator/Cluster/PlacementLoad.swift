/// What placement reads of one worker, kept beside its record (`WorkerRegistry.placementLoads`):
/// the scan for the least-loaded worker holding none of a prompt reads these small values in slot
/// order instead of every worker's whole record.
struct PlacementLoad: Sendable, Hashable {
    /// The worker's id.
    var id: WorkerID
    /// Whether it can serve (live or draining).
    var isRoutable: Bool
    /// Whether a new sequence may be placed on it (`WorkerLoad.takesSequences`).
    var takesSequences: Bool
    /// Hot pages it can still give a new sequence (`WorkerLoad.roomPages`).
    var roomPages: Int
    /// Pages its shards take.
    var pinnedPages: Int
    /// Sequences its heartbeat counts that the table does not (`WorkerLoad.unreportedSequences`).
    var unreportedSequences: Int

    /// The figures of worker `id` whose load is `load`.
    @inline(__always)
    init(id: WorkerID, load: borrowing WorkerLoad) {
        self.id = id
        isRoutable = load.state.isRoutable
        takesSequences = load.takesSequences
        roomPages = load.roomPages
        pinnedPages = load.pinnedPages
        unreportedSequences = load.unreportedSequences
    }

    /// Its decode load in KV tokens (`WorkerLoad.decodeLoadTokens`).
    @inline(__always)
    func decodeLoadTokens(pageSize: Int, unreportedSequenceTokens: Int) -> Int {
        WorkerLoad.decodeLoadTokens(
            pinnedPages: pinnedPages,
            unreportedSequences: unreportedSequences,
            pageSize: pageSize,
            unreportedSequenceTokens: unreportedSequenceTokens
        )
    }
}

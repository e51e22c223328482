/// The live worker holding the longest leading run of a prompt's pages, from which another worker
/// can pull them (any role: a store worker is a source, never a placement).
struct PullSource: Sendable, Hashable {
    /// Its registry slot.
    var slot: Int
    /// Its id.
    var worker: WorkerID
    /// Leading pages it holds.
    var pages: Int
}

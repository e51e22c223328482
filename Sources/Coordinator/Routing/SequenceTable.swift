/// The coordinator's sequences by id, and the recent failures: a sequence that failed (a worker
/// it needs died or left, or a request on it ended in an unknown state) is remembered with its
/// reason, so that later requests for it are answered `unavailable` rather than
/// `unknownSequence`, until the client closes it or `failureMemory` newer failures push it out.
struct SequenceTable: Sendable {
    /// Sequences by id.
    private(set) var records: [UInt64: SequenceRecord] = [:]
    private var failures: [UInt64: String] = [:]
    private var failureOrder: [UInt64] = []
    private var failureOrderStart = 0
    /// How many failed sequences are remembered.
    let failureMemory: Int

    /// An empty table remembering up to `failureMemory` failed sequences.
    init(failureMemory: Int) {
        self.failureMemory = max(1, failureMemory)
    }

    /// The sequence `id`.
    subscript(id: UInt64) -> SequenceRecord? {
        get { records[id] }
        set { records[id] = newValue }
    }

    /// Open and opening sequences.
    var count: Int { records.count }

    /// Why sequence `id` failed, `nil` when it has not (or is no longer remembered).
    func failure(of id: UInt64) -> String? { failures[id] }

    /// Removes sequence `id`; returns it.
    @discardableResult
    mutating func remove(_ id: UInt64) -> SequenceRecord? {
        records.removeValue(forKey: id)
    }

    /// Removes sequence `id` and remembers that it failed for `reason`; returns it.
    @discardableResult
    mutating func fail(_ id: UInt64, reason: String) -> SequenceRecord? {
        let record = records.removeValue(forKey: id)
        if failures.updateValue(reason, forKey: id) == nil {
            failureOrder.append(id)
            while failures.count > failureMemory, failureOrderStart < failureOrder.count {
                failures.removeValue(forKey: failureOrder[failureOrderStart])
                failureOrderStart += 1
            }
            if failureOrderStart > failureMemory {
                failureOrder.removeFirst(failureOrderStart)
                failureOrderStart = 0
            }
        }
        return record
    }

    /// Forgets that sequence `id` failed (its client closed it); returns whether it was remembered.
    @discardableResult
    mutating func forgetFailure(_ id: UInt64) -> Bool {
        failures.removeValue(forKey: id) != nil
    }

    /// Ids of the open and opening sequences with a shard on `worker`.
    func sequences(on worker: WorkerID) -> [UInt64] {
        records.values.filter { $0.hasShard(on: worker) }.map(\.id).sorted()
    }
}

/// The workers the coordinator knows, by id and by dense slot. Slots are given in order of first
/// registration and never reused, so a worker keeps its slot (and the index its pages' slot
/// numbers) across deaths and restarts.
struct WorkerRegistry: Sendable {
    /// Records by slot.
    private(set) var records: [WorkerRecord] = []
    private var slots: [WorkerID: Int] = [:]

    /// An empty registry.
    init() {}

    /// The slot of worker `id`, `nil` for an unknown worker.
    @inline(__always)
    func slot(of id: WorkerID) -> Int? { slots[id] }

    /// Workers known, whatever their state.
    var count: Int { records.count }

    /// Adds a record built for the next slot; returns the slot.
    mutating func add(_ make: (Int) -> WorkerRecord) -> Int {
        let slot = records.count
        let record = make(slot)
        records.append(record)
        slots[record.id] = slot
        return slot
    }

    /// The record in `slot`.
    subscript(slot: Int) -> WorkerRecord {
        _read { yield records[slot] }
        _modify { yield &records[slot] }
    }
}

/// The workers the coordinator knows, by id and by dense slot. Slots are given in order of first
/// registration and never reused, so a worker keeps its slot (and the index its pages' slot
/// numbers) across deaths and restarts.
struct WorkerRegistry: Sendable {
    /// Records by slot.
    private(set) var records: [WorkerRecord] = []
    /// What placement reads of each record, by slot: always the `PlacementLoad` of `records[slot]`, as
    /// every change goes through `add` or the subscript.
    private(set) var placementLoads: [PlacementLoad] = []
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
        placementLoads.append(PlacementLoad(id: record.id, load: record.load))
        slots[record.id] = slot
        return slot
    }

    /// The record in `slot`.
    subscript(slot: Int) -> WorkerRecord {
        _read { yield records[slot] }
        _modify {
            defer { refreshPlacementLoad(slot) }
            yield &records[slot]
        }
    }

    /// Sets `placementLoads[slot]` from the record, read in place.
    private mutating func refreshPlacementLoad(_ slot: Int) {
        let load = records.withUnsafeBufferPointer { records in
            PlacementLoad(id: records[slot].id, load: records[slot].load)
        }
        placementLoads[slot] = load
    }

    /// The event cursor of the record in `slot`, which placement does not read: changing it
    /// leaves `placementLoads` as it is (the path every cache event takes).
    subscript(eventsOf slot: Int) -> WorkerEventCursor {
        _read { yield records[slot].events }
        _modify { yield &records[slot].events }
    }
}

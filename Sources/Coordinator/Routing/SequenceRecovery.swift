/// The coordinator's recovery window after a start: the sequence shards workers reported that the
/// table does not hold yet, the shard lists still awaited, and the client requests held meanwhile.
///
/// The window opens at the first input and stays open until its length has passed and every shard
/// list asked within it has been answered or given up. While it is open, a reported shard of an
/// unknown sequence is kept (not closed), and a request naming an unknown sequence is held (not
/// answered `unknownSequence`).
struct SequenceRecovery: Sendable {
    /// The earliest instant the window closes; `nil` before the first input.
    private(set) var closesAt: MonotonicInstant?
    /// Whether the window is open.
    private(set) var isOpen = true
    /// Shards reported of sequences the table does not hold, by sequence id.
    var reported: [UInt64: [ReportedShard]] = [:]
    /// Request ids of the shard lists asked within the window and not answered yet.
    var awaitedLists: Set<UInt64> = []
    /// Client requests held, in arrival order.
    var held: [HeldRequest] = []

    /// A window not yet started.
    init() {}

    /// Whether the window has started.
    var hasStarted: Bool { closesAt != nil }

    /// Starts the window at `now`, `length` long (closed at once when `length` is zero).
    mutating func start(at now: MonotonicInstant, length: Duration) {
        closesAt = now.advanced(by: length)
        if length <= .zero { close() }
    }

    /// Whether the window may close at `now`: its length has passed and no shard list it asked is
    /// awaited.
    func isDue(at now: MonotonicInstant) -> Bool {
        guard isOpen, let closesAt else { return false }
        return closesAt <= now && awaitedLists.isEmpty
    }

    /// Closes the window: nothing more is kept or held.
    mutating func close() {
        isOpen = false
        awaitedLists = []
    }

    /// Removes and returns the held requests that name one of `ids` (every held request when `ids`
    /// is `nil`), in arrival order.
    mutating func release(naming ids: Set<UInt64>?) -> [HeldRequest] {
        guard let ids else {
            defer { held = [] }
            return held
        }
        var released: [HeldRequest] = []
        held.removeAll { request in
            guard request.sequenceIDs.contains(where: ids.contains) else { return false }
            released.append(request)
            return true
        }
        return released
    }

    /// Removes and returns the held requests whose deadline is `now` or earlier.
    mutating func releaseOverdue(at now: MonotonicInstant) -> [HeldRequest] {
        var overdue: [HeldRequest] = []
        held.removeAll { request in
            guard request.deadline <= now else { return false }
            overdue.append(request)
            return true
        }
        return overdue
    }

    /// The sequences with a reported shard on `worker`.
    func sequences(on worker: WorkerID) -> [UInt64] {
        reported.filter { $0.value.contains { $0.worker == worker } }.map(\.key).sorted()
    }
}

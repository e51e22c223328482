import CacheProtocol

/// How far the index has followed one worker's numbered event stream (`CacheEvent` and
/// `CacheTierEvent`, one numbering), and whether a
/// snapshot is needed or awaited. Pure bookkeeping: it says what to do with each event and
/// heartbeat; the caller changes the index and sends the requests.
///
/// Rules (docs/COORDINATOR.md, "Index resync"): an event numbered one past the last applied is
/// applied; an older one is a repeat and is ignored; a later one is a gap, which calls for a
/// snapshot. A heartbeat naming a last event other than the last applied calls for a snapshot.
/// While a snapshot is awaited, events are kept (up to `bufferLimit` keys) and, once the snapshot
/// arrives, those after it are applied on top in order.
struct WorkerEventCursor: Sendable {
    /// What to do with one event.
    enum Verdict: Sendable, Equatable {
        /// Apply it to the index now.
        case apply
        /// Already reflected (an old or repeated number): ignore it.
        case stale
        /// Kept until the awaited snapshot arrives.
        case buffered
        /// Numbers were skipped: ask for a snapshot (the event is kept for after it).
        case gap(expected: UInt64)
    }

    /// Where the stream stands.
    enum SnapshotState: Sendable, Equatable {
        /// Following events one by one.
        case current
        /// A snapshot is needed and not yet asked for.
        case needed
        /// A `SnapshotRequest` with this request id awaits its answer.
        case requested(requestID: UInt64)
    }

    /// `eventSequence` of the last event reflected in the index (0: none).
    private(set) var lastApplied: UInt64 = 0
    /// Where the stream stands.
    private(set) var snapshot: SnapshotState = .needed
    /// Keys of buffered events past which further events are dropped (a later gap shows it).
    let bufferLimit: Int
    private var buffered: [NumberedCacheEvent] = []
    private var bufferedKeys = 0

    /// A cursor for a new run of a worker: nothing applied, a snapshot needed.
    init(bufferLimit: Int) {
        self.bufferLimit = bufferLimit
    }

    /// Whether the cursor waits for a snapshot (needed or requested).
    var awaitsSnapshot: Bool { snapshot != .current }

    /// Decides what to do with `event`.
    mutating func receive(_ event: NumberedCacheEvent) -> Verdict {
        if awaitsSnapshot {
            keep(event)
            return .buffered
        }
        if event.eventSequence == lastApplied &+ 1 {
            lastApplied = event.eventSequence
            return .apply
        }
        if event.eventSequence <= lastApplied { return .stale }
        let expected = lastApplied &+ 1
        snapshot = .needed
        keep(event)
        return .gap(expected: expected)
    }

    /// Checks a heartbeat's last event number: returns why a snapshot is needed, or nil. Nothing
    /// is asked while a snapshot is already awaited.
    mutating func heartbeat(lastEventSequence: UInt64) -> SnapshotReason? {
        guard !awaitsSnapshot, lastEventSequence != lastApplied else { return nil }
        snapshot = .needed
        return .heartbeatMismatch(reported: lastEventSequence, applied: lastApplied)
    }

    /// Marks that a snapshot must be asked for (after a failed request).
    mutating func needSnapshot() {
        snapshot = .needed
    }

    /// Records that the snapshot request `requestID` was sent.
    mutating func requested(_ requestID: UInt64) {
        snapshot = .requested(requestID: requestID)
    }

    /// The snapshot reflecting events up to `eventSequence` has been applied. Returns the kept
    /// events that follow it, in order, to apply on top; `brokenAfter` is true when those do not
    /// continue the snapshot without a gap (a new snapshot is then needed, the events up to the
    /// gap still applied).
    mutating func snapshotApplied(eventSequence: UInt64) -> (events: [NumberedCacheEvent], broken: Bool) {
        lastApplied = eventSequence
        snapshot = .current
        let kept = buffered.filter { $0.eventSequence > eventSequence }.sorted { $0.eventSequence < $1.eventSequence }
        buffered = []
        bufferedKeys = 0
        var apply: [NumberedCacheEvent] = []
        for event in kept {
            if event.eventSequence <= lastApplied { continue }
            guard event.eventSequence == lastApplied + 1 else {
                snapshot = .needed
                return (apply, true)
            }
            lastApplied = event.eventSequence
            apply.append(event)
        }
        // Events dropped at the buffer's limit leave a hole that the next event or heartbeat reveals.
        return (apply, false)
    }

    private mutating func keep(_ event: NumberedCacheEvent) {
        guard bufferedKeys + event.keys.count <= bufferLimit else { return }
        buffered.append(event)
        bufferedKeys += event.keys.count
    }
}

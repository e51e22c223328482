import CacheProtocol
import Testing

@testable import Coordinator

/// The global prefix index following workers' numbered events, and its snapshot resync.
@Suite("CoordinatorIndexSync")
struct CoordinatorIndexSyncTests {
    @Test("events in order are applied: stored keys enter the index, removed keys leave it, repeats are ignored")
    func eventsInOrder() throws {
        var harness = try CoordinatorHarness()
        try harness.join(1)
        let keys = harness.keys(CoordinatorHarness.tokens(pages: 4))
        #expect(harness.event(1, .stored, keys).isEmpty)
        #expect(harness.instance.indexedPages == 4)
        #expect(harness.event(1, .removed, Array(keys.suffix(1))).isEmpty)
        #expect(harness.instance.indexedPages == 3)
        #expect(!harness.instance.indexHolds(keys[3], on: WorkerID(1)))
        #expect(harness.event(1, .stored, [keys[3]], sequence: 1).isEmpty)
        #expect(harness.instance.indexedPages == 3)
        #expect(CoordinatorHarness.snapshotRequests(in: harness.heartbeat(1)).isEmpty)
    }

    @Test(
        "tier events move indexed pages between tiers in the same numbering as other events; a tier snapshot gives each page its tier"
    )
    func tiers() throws {
        var harness = try CoordinatorHarness()
        try harness.join(1)
        let keys = harness.keys(CoordinatorHarness.tokens(pages: 4))
        #expect(harness.event(1, .stored, keys).isEmpty)
        let demoted = CacheTierEvent(
            workerID: 1,
            eventSequence: 2,
            tier: .compressedMemory,
            keys: Array(keys.prefix(3))
        )
        #expect(harness.fromLink(1, .cacheTierEvent(demoted), requestID: 0).isEmpty)
        let promoted = CacheTierEvent(workerID: 1, eventSequence: 3, tier: .hot, keys: [keys[0]])
        #expect(harness.fromLink(1, .cacheTierEvent(promoted), requestID: 0).isEmpty)
        var stats = harness.stats()
        #expect(stats["worker.1.pages.hot"] == 2)
        #expect(stats["worker.1.pages.compressed"] == 2)
        #expect(stats["cluster.events.applied"] == 3)
        // A heartbeat naming event 3 finds the stream whole: no snapshot.
        #expect(CoordinatorHarness.snapshotRequests(in: harness.heartbeat(1, lastEvent: 3)).isEmpty)
        // A lost tier event is a gap like any other; the tier snapshot repairs it, tiers included.
        let lost = CacheTierEvent(workerID: 1, eventSequence: 5, tier: .disk, keys: [keys[3]])
        let gap = harness.fromLink(1, .cacheTierEvent(lost), requestID: 0)
        let request = try #require(CoordinatorHarness.snapshotRequests(in: gap).first)
        _ = harness.fromWorker(
            1,
            request.1.requestID,
            .tierSnapshotReply(
                TierSnapshotReply(
                    workerID: 1,
                    eventSequence: 5,
                    keys: keys,
                    tiers: [.hot, .compressedMemory, .disk, .disk]
                )
            )
        )
        stats = harness.stats()
        #expect(stats["worker.1.pages.hot"] == 1)
        #expect(stats["worker.1.pages.compressed"] == 1)
        #expect(stats["worker.1.pages.disk"] == 2)
        #expect(stats["cluster.snapshots.applied"] == 2)
    }

    @Test(
        "a gap in the event numbers asks for a snapshot; the snapshot replaces what was known (stale keys leave) and the events kept meanwhile are applied on top"
    )
    func gapThenSnapshot() throws {
        var harness = try CoordinatorHarness()
        try harness.join(1)
        let keys = harness.keys(CoordinatorHarness.tokens(pages: 6))
        _ = harness.event(1, .stored, Array(keys[0..<3]))
        // Event 2 is lost; event 3 arrives.
        let gap = harness.event(1, .stored, [keys[3]], sequence: 3)
        let request = try #require(CoordinatorHarness.snapshotRequests(in: gap).first)
        #expect(request.0 == WorkerID(1))
        #expect(gap.contains(.notice(.snapshotRequested(WorkerID(1), .eventGap(expected: 2, received: 3)))))
        #expect(!harness.instance.indexHolds(keys[3], on: WorkerID(1)))
        // Event 4 arrives while the snapshot is awaited; no second request.
        let during = harness.event(1, .stored, [keys[5]], sequence: 4)
        #expect(CoordinatorHarness.snapshotRequests(in: during).isEmpty)
        // The snapshot reflects events up to 3: keys 1, 2, 3 (key 0 was evicted in the lost event).
        let reply = harness.fromWorker(
            1,
            request.1.requestID,
            .snapshotReply(SnapshotReply(workerID: 1, eventSequence: 3, keys: Array(keys[1...3])))
        )
        #expect(reply.contains(.notice(.snapshotApplied(WorkerID(1), keys: 3, staleRemoved: 1))))
        #expect(!harness.instance.indexHolds(keys[0], on: WorkerID(1)))
        #expect(keys[1...3].allSatisfy { harness.instance.indexHolds($0, on: WorkerID(1)) })
        #expect(harness.instance.indexHolds(keys[5], on: WorkerID(1)))
        #expect(harness.instance.indexedPages == 4)
        // The stream continues from 4.
        _ = harness.event(1, .stored, [keys[4]], sequence: 5)
        #expect(harness.instance.indexedPages == 5)
        #expect(CoordinatorHarness.snapshotRequests(in: harness.heartbeat(1, lastEvent: 5)).isEmpty)
    }

    @Test("a heartbeat whose last event is ahead of the last applied asks for a snapshot")
    func heartbeatAhead() throws {
        var harness = try CoordinatorHarness()
        try harness.join(1)
        let keys = harness.keys(CoordinatorHarness.tokens(pages: 2))
        _ = harness.event(1, .stored, keys)
        // A registration's snapshot is not a resync.
        #expect(harness.stats()["cluster.resyncs"] == 0)
        let beat = harness.heartbeat(1, lastEvent: 2)
        #expect(CoordinatorHarness.linkAnswers(in: beat).first?.message == .ack(Ack()))
        let request = try #require(CoordinatorHarness.snapshotRequests(in: beat).first)
        #expect(harness.stats()["cluster.resyncs"] == 1)
        #expect(harness.stats()["cluster.snapshots.requested"] == 2)
        #expect(beat.contains(.notice(.snapshotRequested(WorkerID(1), .heartbeatMismatch(reported: 2, applied: 1)))))
        _ = harness.fromWorker(
            1,
            request.1.requestID,
            .snapshotReply(SnapshotReply(workerID: 1, eventSequence: 2, keys: [keys[0]]))
        )
        #expect(harness.instance.indexedPages == 1)
        #expect(CoordinatorHarness.snapshotRequests(in: harness.heartbeat(1, lastEvent: 2)).isEmpty)
    }

    @Test("re-registration asks for a snapshot, and keys the new run no longer holds leave the index")
    func reregistration() throws {
        var harness = try CoordinatorHarness()
        let keys = harness.keys(CoordinatorHarness.tokens(pages: 5))
        try harness.join(1, keys: keys)
        try harness.join(2, keys: Array(keys[0..<2]))
        #expect(harness.instance.indexedPages == 7)
        let registered = try harness.register(1)
        let request = try #require(CoordinatorHarness.snapshotRequests(in: registered).first)
        #expect(request.0 == WorkerID(1))
        _ = harness.fromWorker(
            1,
            request.1.requestID,
            .snapshotReply(SnapshotReply(workerID: 1, eventSequence: 0, keys: Array(keys[0..<2])))
        )
        #expect(harness.instance.indexedPages == 4)
        #expect(!harness.instance.indexHolds(keys[4], on: WorkerID(1)))
        #expect(harness.instance.indexHolds(keys[0], on: WorkerID(2)))
        #expect(harness.instance.indexedKeys == 2)
    }

    @Test(
        "a snapshot request that fails is asked again at the next heartbeat; a snapshot from an older request is ignored"
    )
    func snapshotRetry() throws {
        var harness = try CoordinatorHarness()
        let registered = try harness.register(1)
        let first = try #require(CoordinatorHarness.snapshotRequests(in: registered).first)
        _ = harness.fromWorker(1, first.1.requestID, .errorReply(ErrorReply(code: .internal, message: "busy")))
        let beat = harness.heartbeat(1)
        let second = try #require(CoordinatorHarness.snapshotRequests(in: beat).first)
        #expect(beat.contains(.notice(.snapshotRequested(WorkerID(1), .retry))))
        let keys = harness.keys(CoordinatorHarness.tokens(pages: 1))
        _ = harness.fromWorker(
            1,
            first.1.requestID,
            .snapshotReply(SnapshotReply(workerID: 1, eventSequence: 0, keys: keys))
        )
        #expect(harness.instance.indexedPages == 0)
        _ = harness.fromWorker(
            1,
            second.1.requestID,
            .snapshotReply(SnapshotReply(workerID: 1, eventSequence: 0, keys: keys))
        )
        #expect(harness.instance.indexedPages == 1)
    }

    @Test("namespaces isolate tenants: the same tokens in another namespace find nothing cached")
    func namespaces() throws {
        var harness = try CoordinatorHarness()
        let tokens = CoordinatorHarness.tokens(pages: 3)
        try harness.join(1, keys: harness.keys(tokens, namespace: "tenant-a"))
        let own = harness.instance.place(tokens: tokens, namespace: "tenant-a", excluding: [])
        #expect(own?.0.cachedPages == 3)
        #expect(own?.1 == harness.keys(tokens, namespace: "tenant-a"))
        let other = harness.instance.place(tokens: tokens, namespace: "tenant-b", excluding: [])
        #expect(other?.0.cachedPages == 0)
        #expect(other?.0.pull == nil)
        // Only the first key is computed: no worker holds it.
        #expect(other?.1 == Array(harness.keys(tokens, namespace: "tenant-b").prefix(1)))
    }
}

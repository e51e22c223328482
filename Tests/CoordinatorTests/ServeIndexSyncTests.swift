import CacheProtocol
import Coordinator
import Foundation
import Kernels
import TestSupport
import Testing

/// The prefix index kept exact through real processes: a cache event a worker drops on purpose
/// (`MFA_TEST_DROP_CACHE_EVENTS`) is found missing and repaired by a snapshot, and a worker
/// restarted with an empty cache takes its old pages out of the index.
@Suite("mfa-coordinator serve index resync", .serialized)
struct ServeIndexSyncTests {
    static let model = ServeEndToEndTests.model("f16")

    /// Opens two sequences that stay open (on workers 1 and 2, the least loaded in id order), then
    /// `prompt` on worker 3, prefilled and closed with commit. Returns the open sequences and the
    /// committed one.
    static func commitOnThirdWorker(
        _ cluster: ServedCluster,
        prompt: [UInt32],
        spec: ModelSpec,
        random: inout SplitMix64
    ) async throws -> (others: [ServedSequence], committed: ServedSequence) {
        var others: [ServedSequence] = []
        for index in 0..<2 {
            let tokens = (0..<24).map { UInt32(60_000 + 100 * index + $0) }
            others.append(
                try await ServeEndToEndTests.openAndPrefill(
                    cluster,
                    namespace: "sync",
                    tokens: tokens,
                    spec: spec,
                    random: &random
                )
            )
        }
        let committed = try await ServeEndToEndTests.openAndPrefill(
            cluster,
            namespace: "sync",
            tokens: prompt,
            spec: spec,
            random: &random
        )
        try #require(committed.worker == 3, "the prompt went to worker \(committed.worker), not the idle worker 3")
        try await cluster.client.close(sequenceID: committed.id, commit: true)
        return (others, committed)
    }

    /// Closes `sequences` and waits until no worker reports an open sequence (so that the next
    /// placement sees equal loads).
    static func closeAll(_ cluster: ServedCluster, _ sequences: [ServedSequence]) async throws {
        for sequence in sequences { try await cluster.client.close(sequenceID: sequence.id, commit: false) }
        try await cluster.waitUntil("no worker reports an open sequence") { stats in
            (1...3).allSatisfy { stats["worker.\($0).live_sequences"] == 0 }
        }
    }

    @Test(
        "a cache event dropped on purpose is found missing (the heartbeat names it) and repaired by a snapshot: a re-open hits on its worker"
    )
    func droppedEventRepaired() async throws {
        let spec = try ModelSpec(parsing: Self.model)
        // Worker 3's first event (the commit below) is not sent.
        let cluster = try await ServedCluster(
            model: Self.model,
            workerCount: 3,
            workerEnvironments: [3: ["MFA_TEST_DROP_CACHE_EVENTS": "1"]]
        )
        var random = SplitMix64(seed: 61)
        let before = try await cluster.stats()
        #expect(before["cluster.resyncs"] == 0)
        let prompt = (0..<40).map { UInt32($0 * 13 + 1) }
        let (others, committed) = try await Self.commitOnThirdWorker(
            cluster,
            prompt: prompt,
            spec: spec,
            random: &random
        )
        // Only a snapshot can tell the coordinator about the dropped event's pages.
        try await cluster.waitUntil("the dropped event is detected and the snapshot applied") { stats in
            (stats["cluster.resyncs"] ?? 0) >= 1 && (stats["worker.3.pages.hot"] ?? 0) == 2
                && stats["cluster.snapshots.applied"] == stats["cluster.snapshots.requested"]
        }
        let stats = try await cluster.stats()
        #expect(stats["cluster.events.applied"] == 0)
        #expect((stats["cluster.snapshots.applied"] ?? 0) >= 4)
        try await Self.closeAll(cluster, others)

        // At equal loads a prompt nobody holds goes to worker 1; this one is placed on its holder.
        let reopened = try await cluster.openTracked(namespace: "sync", tokens: prompt)
        #expect(reopened.cachedTokens == 32)
        #expect(reopened.worker == 3)
        _ = try await ServeEndToEndTests.prefillAfterHit(
            cluster,
            id: reopened.sequenceID,
            worker: reopened.worker,
            cachedTokens: reopened.cachedTokens,
            original: committed,
            spec: spec,
            random: &random
        )
        try await cluster.client.close(sequenceID: reopened.sequenceID, commit: false)
        await cluster.stop()
    }

    @Test(
        "a worker killed and restarted with the same id and an empty cache: its old pages leave the index, and a re-open of its prompt is not placed there as a hit"
    )
    func restartedWorkerForgotten() async throws {
        let spec = try ModelSpec(parsing: Self.model)
        let cluster = try await ServedCluster(model: Self.model, workerCount: 3)
        var random = SplitMix64(seed: 62)
        let prompt = (0..<40).map { UInt32($0 * 17 + 2) }
        let (others, _) = try await Self.commitOnThirdWorker(cluster, prompt: prompt, spec: spec, random: &random)
        try await cluster.waitUntil("the committed pages are indexed") { stats in
            stats["worker.3.pages.hot"] == 2
        }
        try await Self.closeAll(cluster, others)

        cluster.kill(worker: 3)
        try await cluster.restart(worker: 3)
        let stats = try await cluster.stats()
        #expect(stats["worker.3.pages.hot"] == 0)
        #expect(stats["cluster.index.pages"] == 0)
        #expect(stats["cluster.workers.live"] == 3)

        let reopened = try await cluster.openTracked(namespace: "sync", tokens: prompt)
        #expect(reopened.cachedTokens == 0)
        #expect(reopened.worker != 3)
        try await cluster.client.close(sequenceID: reopened.sequenceID, commit: false)
        await cluster.stop()
    }
}

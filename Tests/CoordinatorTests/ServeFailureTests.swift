import CacheProtocol
import Coordinator
import Foundation
import Kernels
import TestSupport
import Testing

/// `mfa-coordinator serve` when things go wrong with real processes: a worker killed with
/// SIGKILL, a prompt no worker can hold, a worker of another model. Every request is answered
/// (the client's own timeout would show a hang), and the rest of the cluster keeps serving.
@Suite("mfa-coordinator serve failures", .serialized)
struct ServeFailureTests {
    static let model = ServeEndToEndTests.model("f16")

    /// Whether `error` is the coordinator's refusal with `code`.
    static func isRefusal(_ error: any Error, _ code: ErrorCode) -> Bool {
        if case .refused(let refused, _) = error as? ClusterClientError { return refused == code }
        return false
    }

    /// A one-token decode of `sequence` in layer 0.
    static func decodeOne(_ cluster: ServedCluster, _ sequence: ServedSequence, spec: ModelSpec) async throws {
        let (hq, hkv, d) = (spec.queryHeads, spec.kvHeads, spec.headDim)
        _ = try await cluster.client.decode(
            layer: 0,
            entries: [Decode.Entry(sequenceID: sequence.id, queryTokens: 1)],
            input: AttentionInput(
                q: try WireTensor(f32: [Float](repeating: 0.5, count: hq * d), shape: [1, hq, d]),
                k: try WireTensor(f32: [Float](repeating: 0.5, count: hkv * d), shape: [1, hkv, d]),
                v: try WireTensor(f32: [Float](repeating: 0.5, count: hkv * d), shape: [1, hkv, d])
            )
        )
    }

    /// Waits until `count` workers hold at least `pages` pages in the coordinator's index.
    static func waitForHolders(
        _ cluster: ServedCluster,
        _ count: Int,
        pages: UInt64,
        of workers: [UInt64],
        _ what: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        try await cluster.waitUntil(what, sourceLocation: sourceLocation) { stats in
            workers.filter { (stats["worker.\($0).pages.hot"] ?? 0) >= pages }.count == count
        }
    }

    @Test(
        "a worker killed with SIGKILL: its sequences and a request in flight to it answer unavailable, the others decode on; with two replicas its committed prefix still hits"
    )
    func killedWorker() async throws {
        let spec = try ModelSpec(parsing: Self.model)
        let cluster = try await ServedCluster(
            model: Self.model,
            workerCount: 3,
            coordinatorArguments: ["--replicas", "2"]
        )
        var random = SplitMix64(seed: 33)
        let workers: [UInt64] = [1, 2, 3]
        // A prompt committed on one worker is pulled by a second (two pages of 16 tokens).
        let prompt = (0..<40).map { UInt32($0 * 11 + 5) }
        let committed = try await ServeEndToEndTests.openAndPrefill(
            cluster,
            namespace: "kill",
            tokens: prompt,
            spec: spec,
            random: &random
        )
        try await cluster.client.close(sequenceID: committed.id, commit: true)
        try await Self.waitForHolders(cluster, 2, pages: 2, of: workers, "the committed pages are on two workers")
        // Until a heartbeat after the close reports no open sequence, the coordinator counts the
        // closed one as load of unknown length and would place the next sequences elsewhere.
        try await cluster.waitUntil("the holder reports no sequence") {
            $0["worker.\(committed.worker).live_sequences"] == 0
        }
        // The index learnt the copy from the target's event; the pull's answer comes on another
        // connection.
        try await cluster.waitUntil("the replication pull is answered") { $0["cluster.replication.pages"] == 2 }
        let replicated = try await cluster.stats()
        #expect(replicated["cluster.replication.pulls"] == 1)
        #expect(replicated["cluster.replication.failed"] == 0)

        var sequences: [ServedSequence] = []
        for index in 0..<6 {
            let tokens = (0..<(10 + 3 * index)).map { UInt32(20_000 + 100 * index + $0) }
            sequences.append(
                try await ServeEndToEndTests.openAndPrefill(
                    cluster,
                    namespace: "kill",
                    tokens: tokens,
                    spec: spec,
                    random: &random
                )
            )
        }
        // The worker the committed sequence ran on dies.
        let victim = committed.worker
        let doomed = sequences.filter { $0.worker == victim }
        var survivors = sequences.filter { $0.worker != victim }
        try #require(!doomed.isEmpty, "no sequence was placed on worker \(victim)")
        try #require(!survivors.isEmpty, "every sequence was placed on worker \(victim)")

        cluster.kill(worker: victim)
        let killed = ContinuousClock.now
        // Sent after the kill: in flight to a dead worker until the coordinator declares it dead.
        await #expect {
            try await Self.decodeOne(cluster, doomed[0], spec: spec)
        } throws: { error in
            Self.isRefusal(error, .unavailable)
        }
        // A liveness bound with a wide margin over the silence limit (plus a tick).
        #expect(ContinuousClock.now - killed < ServedCluster.silenceLimit + .seconds(5))
        for sequence in doomed {
            await #expect {
                try await Self.decodeOne(cluster, sequence, spec: spec)
            } throws: { error in
                Self.isRefusal(error, .unavailable)
            }
        }

        try await ServeEndToEndTests.singleSteps(2, cluster, &survivors, spec: spec, random: &random)
        let stats = try await cluster.stats()
        #expect(stats["cluster.workers.live"] == 2)
        #expect(stats["cluster.workers.dead"] == 1)
        #expect(stats["cluster.workers.deaths"] == 1)
        #expect(stats["worker.\(victim).state"] == 2)
        #expect(stats["cluster.sequences"] == UInt64(survivors.count))
        #expect(stats["cluster.sequences.failed"] == UInt64(doomed.count))
        // A failed sequence's close is acknowledged at once; the others close normally.
        for sequence in sequences { try await cluster.client.close(sequenceID: sequence.id, commit: false) }
        #expect(cluster.workers[victim]?.process.exit == .signalled(SIGKILL))

        // The pages the dead worker held with one other worker are pulled again by the third, and
        // a re-open of the prompt hits on a survivor with the committed K/V.
        let living = workers.filter { $0 != victim }
        try await Self.waitForHolders(cluster, 2, pages: 2, of: living, "the pages are on both survivors")
        let reopened = try await cluster.openTracked(namespace: "kill", tokens: prompt)
        #expect(reopened.cachedTokens == 32)
        #expect(reopened.worker != victim)
        var reused = [
            try await ServeEndToEndTests.prefillAfterHit(
                cluster,
                id: reopened.sequenceID,
                worker: reopened.worker,
                cachedTokens: reopened.cachedTokens,
                original: committed,
                spec: spec,
                random: &random
            )
        ]
        let step = try await ServeEndToEndTests.decodeStep(
            cluster,
            &reused,
            entries: [(0, 1)],
            spec: spec,
            random: &random
        )
        #expect(step < spec.kvStorage.servedTolerance)
        try await cluster.client.close(sequenceID: reopened.sequenceID, commit: false)
        await cluster.stop()
    }

    @Test(
        "a prompt no worker has room for is refused with capacity at once; a worker of another model is refused and exits"
    )
    func refusals() async throws {
        let spec = try ModelSpec(parsing: Self.model)
        let cluster = try await ServedCluster(model: Self.model, workerCount: 3)
        var random = SplitMix64(seed: 44)

        // 16 MiB of this model's pages is 2048 pages of 16 tokens: one more page than any worker has.
        let huge = (0..<(2049 * spec.pageSize)).map { UInt32($0 % 50_000) }
        let asked = ContinuousClock.now
        await #expect {
            _ = try await cluster.client.open(namespace: "huge", tokens: huge)
        } throws: { error in
            Self.isRefusal(error, .capacity)
        }
        // Refused in the same step, nothing sent to a worker; the bound is a liveness check.
        #expect(ContinuousClock.now - asked < .seconds(5))

        let stranger = try BuiltExecutable.worker.launch(
            arguments: [
                "--listen", "tcp://127.0.0.1:*", "--log-level", "error", "--threads", "1", "--memory", "16MiB",
                "--model", "name=other,layers=2,q-heads=4,kv-heads=2,head-dim=64,kv=f16,page=16",
            ] + cluster.workerArguments(id: 9)
        )
        let exit = stranger.waitForExit(within: .seconds(20))
        #expect(exit != nil && exit != .exited(0), "\(stranger.diagnostics)")
        #expect(stranger.standardError.contains("refused"), "\(stranger.diagnostics)")
        #expect(cluster.coordinator.standardError.contains("worker 9 refused"))

        // The cluster keeps serving.
        var sequences = [
            try await ServeEndToEndTests.openAndPrefill(
                cluster,
                namespace: "after",
                tokens: (0..<30).map { UInt32($0) },
                spec: spec,
                random: &random
            )
        ]
        let step = try await ServeEndToEndTests.decodeStep(
            cluster,
            &sequences,
            entries: [(0, 1)],
            spec: spec,
            random: &random
        )
        #expect(step < spec.kvStorage.servedTolerance)
        let stats = try await cluster.stats()
        #expect(stats["cluster.workers.live"] == 3)
        #expect(stats["cluster.placements.refused"] == 1)
        #expect(stats["worker.9.state"] == nil)
        try await cluster.client.close(sequenceID: sequences[0].id, commit: false)
        await cluster.stop()
    }
}

import CacheProtocol
import Coordinator
import Foundation
import Kernels
import TestSupport
import Testing

/// `mfa-coordinator serve` killed with SIGKILL and started again on the same endpoints, with three
/// real `mfa-worker`s that keep running: the new coordinator rebuilds its sequence table from the
/// workers, and the open sequences go on under their ids with the answers they would have had.
@Suite("mfa-coordinator serve restart", .serialized)
struct ServeRestartTests {
    static let model = ServeEndToEndTests.model("f16")
    /// 8 pages of 16 tokens a worker (8 KiB a page for this model): a 128-token prompt fills one.
    static let memory = "64KiB"

    /// The answer to a query-only decode of layer 1 (no k or v: nothing is appended), one row per
    /// sequence, its output and lse as the bits the coordinator sent.
    static func queryOnly(
        _ cluster: ServedCluster,
        _ sequences: [ServedSequence],
        q: [Float],
        spec: ModelSpec
    ) async throws -> (output: [UInt32], lse: [UInt32]) {
        let (hq, d) = (spec.queryHeads, spec.headDim)
        let answer = try await cluster.client.decode(
            layer: 1,
            entries: sequences.map { Decode.Entry(sequenceID: $0.id, queryTokens: 1) },
            input: AttentionInput(q: try ServeEndToEndTests.tensor(q, [sequences.count, hq, d]), k: nil, v: nil)
        )
        return (try answer.output.f32Values().map(\.bitPattern), try answer.lse.f32Values().map(\.bitPattern))
    }

    /// The largest difference of a query-only answer from the float64 reference: each row attends
    /// to every token its sequence holds in layer 1.
    static func queryOnlyError(
        _ answer: (output: [UInt32], lse: [UInt32]),
        _ sequences: [ServedSequence],
        q: [Float],
        spec: ModelSpec
    ) throws -> Double {
        let (hq, d) = (spec.queryHeads, spec.headDim)
        let output = answer.output.map(Float.init(bitPattern:))
        let lse = answer.lse.map(Float.init(bitPattern:))
        var worst = 0.0
        for (row, sequence) in sequences.enumerated() {
            let expected = try sequence.reference(
                queries: Array(q[(row * hq * d)..<((row + 1) * hq * d)]),
                layer: 1,
                spec: spec
            )
            worst = max(
                worst,
                expected.largestOutputError(Array(output[(row * hq * d)..<((row + 1) * hq * d)])),
                expected.largestLogSumExpError(Array(lse[(row * hq)..<((row + 1) * hq)]))
            )
        }
        return worst
    }

    @Test(
        "a coordinator killed with SIGKILL and restarted on the same endpoints rebuilds its sequences from the workers: they keep their ids and decode on with identical outputs"
    )
    func killedAndRestarted() async throws {
        let spec = try ModelSpec(parsing: Self.model)
        let cluster = try await ServedCluster(model: Self.model, workerCount: 3, memory: Self.memory)
        var random = SplitMix64(seed: 55)
        // The first prompt fills its worker's 8 pages, so its first decode step spills to another
        // worker (its first shard is sealed there); the others fit beside it. After two steps the
        // lengths are 130, 32 (a page boundary, not sealed: whole at once), 29 and 39.
        var sequences: [ServedSequence] = []
        for (index, length) in [128, 30, 27, 37].enumerated() {
            let tokens = (0..<length).map { UInt32(30_000 + 1000 * index + $0) }
            sequences.append(
                try await ServeEndToEndTests.openAndPrefill(
                    cluster,
                    namespace: "restart",
                    tokens: tokens,
                    spec: spec,
                    random: &random
                )
            )
        }
        try #require(
            !sequences.dropFirst().contains { $0.worker == sequences[0].worker },
            "a sequence was placed beside the full one: \(sequences.map(\.worker))"
        )
        try await ServeEndToEndTests.singleSteps(2, cluster, &sequences, spec: spec, random: &random)
        let before = try await cluster.stats()
        #expect(before["cluster.spills"] == 1)
        #expect(before["cluster.sequences"] == 4)
        let q = random.floats(sequences.count * spec.queryHeads * spec.headDim, in: -4..<4)
        let answerBefore = try await Self.queryOnly(cluster, sequences, q: q, spec: spec)
        #expect(try Self.queryOnlyError(answerBefore, sequences, q: q, spec: spec) < spec.kvStorage.servedTolerance)

        #expect(cluster.killCoordinator() == .signalled(SIGKILL))
        try cluster.restartCoordinator()
        let restarted = ContinuousClock.now
        // Sent at once: held until the workers have registered again and reported their shards.
        let answerAfter = try await Self.queryOnly(cluster, sequences, q: q, spec: spec)
        #expect(answerAfter.output == answerBefore.output)
        #expect(answerAfter.lse == answerBefore.lse)
        // The window (silence limit plus a heartbeat) is 1.2 s here; the bound is a liveness check
        // with a wide margin.
        #expect(ContinuousClock.now - restarted < .seconds(10))

        try await cluster.waitUntil("the recovery window closed with every sequence back") { stats in
            stats["cluster.recovery.open"] == 0 && stats["cluster.workers.live"] == 3
        }
        let after = try await cluster.stats()
        #expect(after["cluster.sequences"] == 4)
        #expect(after["cluster.sequences.recovered"] == 4)
        #expect(after["cluster.sequences.failed"] == 0)
        #expect(after["cluster.shards.stale_closed"] == 0)
        // Five shards: the spilled sequence's two and one each for the others, counted in the loads.
        let shards = (1...3).map { after["worker.\($0).sequences"] ?? 0 }.reduce(0, +)
        #expect(shards == 5)
        #expect((1...3).allSatisfy { (after["worker.\($0).load_tokens"] ?? 0) > 0 })

        try await ServeEndToEndTests.singleSteps(2, cluster, &sequences, spec: spec, random: &random)
        // A new sequence gets an id none of the recovered ones has, and is served.
        var fresh = [
            try await ServeEndToEndTests.openAndPrefill(
                cluster,
                namespace: "restart",
                tokens: (0..<20).map { UInt32(40_000 + $0) },
                spec: spec,
                random: &random
            )
        ]
        #expect(!sequences.map(\.id).contains(fresh[0].id))
        #expect(fresh[0].id > (sequences.map(\.id).max() ?? 0))
        let step = try await ServeEndToEndTests.decodeStep(
            cluster,
            &fresh,
            entries: [(0, 1)],
            spec: spec,
            random: &random
        )
        #expect(step < spec.kvStorage.servedTolerance)
        // An id the coordinator never gave is unknown once the window has closed.
        await #expect {
            try await cluster.client.close(sequenceID: 12_345, commit: false)
        } throws: { error in
            ServeFailureTests.isRefusal(error, .unknownSequence)
        }
        for sequence in sequences + fresh { try await cluster.client.close(sequenceID: sequence.id, commit: false) }
        try await cluster.waitUntil("every shard closed") { stats in
            (1...3).allSatisfy { stats["worker.\($0).live_sequences"] == 0 }
        }
        await cluster.stop()
    }
}

import CacheProtocol
import Coordinator
import Foundation
import Kernels
import TestSupport
import Testing

/// `mfa-coordinator serve` with three real `mfa-worker`s, driven by a `ClusterClient` on the
/// coordinator's client endpoint: the answers are the float64 reference's, placement follows the
/// prefix cache, and the coordinator reports the cluster.
@Suite("mfa-coordinator serve end to end", .serialized)
struct ServeEndToEndTests {
    static func model(_ storage: String) -> String {
        "name=tiny,layers=2,q-heads=4,kv-heads=2,head-dim=32,kv=\(storage),page=16"
    }

    static func tensor(_ values: [Float], _ shape: [Int]) throws -> WireTensor {
        try WireTensor(f32: values, shape: shape)
    }

    /// Opens a sequence of `length` tokens through the coordinator and prefills it one chunk per
    /// layer, checking each answer against the reference.
    static func openAndPrefill(
        _ cluster: ServedCluster,
        namespace: String,
        tokens: [UInt32],
        spec: ModelSpec,
        random: inout SplitMix64
    ) async throws -> ServedSequence {
        let (hq, hkv, d) = (spec.queryHeads, spec.kvHeads, spec.headDim)
        let length = tokens.count
        let opened = try await cluster.openTracked(namespace: namespace, tokens: tokens)
        #expect(opened.cachedTokens == 0)
        var sequence = ServedSequence(id: opened.sequenceID, worker: opened.worker, keys: [], values: [])
        for layer in 0..<spec.layers {
            let q = random.floats(length * hq * d, in: -4..<4)
            let k = random.floats(length * hkv * d, in: -4..<4)
            let v = random.floats(length * hkv * d, in: -4..<4)
            let answer = try await cluster.client.prefill(
                sequenceID: sequence.id,
                layer: layer,
                startPosition: 0,
                q: tensor(q, [length, hq, d]),
                k: tensor(k, [length, hkv, d]),
                v: tensor(v, [length, hkv, d])
            )
            sequence.keys.append(k)
            sequence.values.append(v)
            let expected = try sequence.reference(queries: q, layer: layer, spec: spec)
            #expect(expected.largestOutputError(try answer.output.f32Values()) < spec.kvStorage.servedTolerance)
            #expect(expected.largestLogSumExpError(try answer.lse.f32Values()) < spec.kvStorage.servedTolerance)
        }
        return sequence
    }

    /// Prefills the rest of `original`'s prompt into sequence `id`, opened on `worker` for the same
    /// prompt with its first `cachedTokens` tokens found cached: one chunk per layer with
    /// `original`'s K/V rows past the cached ones, each answer checked against the reference over
    /// all of `original`'s rows (so the cached pages must be `original`'s). Returns the sequence.
    static func prefillAfterHit(
        _ cluster: ServedCluster,
        id: UInt64,
        worker: UInt64,
        cachedTokens: Int,
        original: ServedSequence,
        spec: ModelSpec,
        random: inout SplitMix64
    ) async throws -> ServedSequence {
        let (hq, hkv, d) = (spec.queryHeads, spec.kvHeads, spec.headDim)
        let rest = original.length(spec: spec) - cachedTokens
        var reused = ServedSequence(id: id, worker: worker, keys: [], values: [])
        for layer in 0..<spec.layers {
            let q = random.floats(rest * hq * d, in: -4..<4)
            let k = Array(original.keys[layer][(cachedTokens * hkv * d)...])
            let v = Array(original.values[layer][(cachedTokens * hkv * d)...])
            let answer = try await cluster.client.prefill(
                sequenceID: id,
                layer: layer,
                startPosition: cachedTokens,
                q: tensor(q, [rest, hq, d]),
                k: tensor(k, [rest, hkv, d]),
                v: tensor(v, [rest, hkv, d])
            )
            reused.keys.append(original.keys[layer])
            reused.values.append(original.values[layer])
            let expected = try reused.reference(queries: q, layer: layer, spec: spec)
            #expect(expected.largestOutputError(try answer.output.f32Values()) < spec.kvStorage.servedTolerance)
            #expect(expected.largestLogSumExpError(try answer.lse.f32Values()) < spec.kvStorage.servedTolerance)
        }
        return reused
    }

    /// `count` decode steps of one token for every sequence, each answer checked against the
    /// reference within the storage type's tolerance.
    static func singleSteps(
        _ count: Int,
        _ cluster: ServedCluster,
        _ sequences: inout [ServedSequence],
        spec: ModelSpec,
        random: inout SplitMix64,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        for _ in 0..<count {
            let step = try await decodeStep(
                cluster,
                &sequences,
                entries: sequences.indices.map { ($0, 1) },
                spec: spec,
                random: &random
            )
            #expect(step < spec.kvStorage.servedTolerance, sourceLocation: sourceLocation)
        }
    }

    /// One decode step of every layer for `entries` (indices into `sequences` with their query
    /// tokens): appends the new rows to the sequences and returns the largest output and lse errors
    /// against the reference.
    static func decodeStep(
        _ cluster: ServedCluster,
        _ sequences: inout [ServedSequence],
        entries: [(index: Int, tokens: Int)],
        spec: ModelSpec,
        random: inout SplitMix64
    ) async throws -> Double {
        let (hq, hkv, d) = (spec.queryHeads, spec.kvHeads, spec.headDim)
        let rows = entries.map(\.tokens).reduce(0, +)
        var worst = 0.0
        for layer in 0..<spec.layers {
            let q = random.floats(rows * hq * d, in: -4..<4)
            let k = random.floats(rows * hkv * d, in: -4..<4)
            let v = random.floats(rows * hkv * d, in: -4..<4)
            let answer = try await cluster.client.decode(
                layer: layer,
                entries: entries.map {
                    Decode.Entry(sequenceID: sequences[$0.index].id, queryTokens: UInt32($0.tokens))
                },
                input: AttentionInput(
                    q: tensor(q, [rows, hq, d]),
                    k: tensor(k, [rows, hkv, d]),
                    v: tensor(v, [rows, hkv, d])
                )
            )
            #expect(answer.rows == rows)
            let output = try answer.output.f32Values()
            let lse = try answer.lse.f32Values()
            var row = 0
            for (index, tokens) in entries {
                let kvRange = (row * hkv * d)..<((row + tokens) * hkv * d)
                sequences[index].keys[layer] += k[kvRange]
                sequences[index].values[layer] += v[kvRange]
                let expected = try sequences[index].reference(
                    queries: Array(q[(row * hq * d)..<((row + tokens) * hq * d)]),
                    layer: layer,
                    spec: spec
                )
                worst = max(
                    worst,
                    expected.largestOutputError(Array(output[(row * hq * d)..<((row + tokens) * hq * d)])),
                    expected.largestLogSumExpError(Array(lse[(row * hq)..<((row + tokens) * hq)]))
                )
                row += tokens
            }
        }
        return worst
    }

    @Test(
        "sequences opened through the coordinator are prefilled, decoded in one mixed batch across workers, truncated and closed, matching the reference",
        arguments: ["f16", "int8"]
    )
    func batchAcrossWorkers(storage: String) async throws {
        let spec = try ModelSpec(parsing: Self.model(storage))
        let cluster = try await ServedCluster(model: Self.model(storage), workerCount: 3)
        var random = SplitMix64(seed: 21)
        var sequences: [ServedSequence] = []
        for (index, length) in [5, 16, 23, 40].enumerated() {
            let tokens = (0..<length).map { UInt32($0 + 1000 * index) }
            sequences.append(
                try await Self.openAndPrefill(cluster, namespace: "test", tokens: tokens, spec: spec, random: &random)
            )
        }
        // Placement spreads sequences no worker has cached: the batch spans several workers, so
        // the coordinator splits it and merges the parts.
        #expect(Set(sequences.map(\.worker)).count == 3)

        // One-token entries and a 3-token speculative verification together.
        let mixed = try await Self.decodeStep(
            cluster,
            &sequences,
            entries: [(0, 1), (3, 3), (1, 1), (2, 1)],
            spec: spec,
            random: &random
        )
        #expect(mixed < spec.kvStorage.servedTolerance)

        // Two of the three draft tokens are rejected.
        let kept = sequences[3].length(spec: spec) - 2
        try await cluster.client.truncate(sequenceID: sequences[3].id, length: kept)
        sequences[3].truncate(to: kept, spec: spec)
        try await Self.singleSteps(3, cluster, &sequences, spec: spec, random: &random)

        for sequence in sequences { try await cluster.client.close(sequenceID: sequence.id, commit: false) }
        await #expect(throws: ClusterClientError.self) {
            _ = try await Self.decodeStep(cluster, &sequences, entries: [(0, 1)], spec: spec, random: &random)
        }
        let stats = try await cluster.stats()
        #expect(stats["cluster.sequences"] == 0)
        #expect(stats["cluster.sequences.failed"] == 0)
        await cluster.stop()
    }

    @Test(
        "a batch across three workers with one sequence spilled over two: single steps, a speculative verify and a prefill chunk across its shards match the reference"
    )
    func spilledBatch() async throws {
        let spec = try ModelSpec(parsing: Self.model("f16"))
        // 8 pages of 16 tokens a worker: the 128-token prompt fills its worker.
        let cluster = try await ServedCluster(model: Self.model("f16"), workerCount: 3, memory: "64KiB")
        var random = SplitMix64(seed: 31)
        var sequences: [ServedSequence] = []
        for (index, length) in [128, 30, 27, 37].enumerated() {
            let tokens = (0..<length).map { UInt32(50_000 + 1000 * index + $0) }
            sequences.append(
                try await Self.openAndPrefill(cluster, namespace: "spill", tokens: tokens, spec: spec, random: &random)
            )
        }
        #expect(Set(sequences.map(\.worker)).count == 3)
        // The first step spills sequence 0 onto another worker; sequence 2 verifies 3 draft tokens.
        let first = try await Self.decodeStep(
            cluster,
            &sequences,
            entries: [(0, 1), (1, 1), (2, 3), (3, 1)],
            spec: spec,
            random: &random
        )
        #expect(first < spec.kvStorage.servedTolerance)
        #expect(try await cluster.stats()["cluster.spills"] == 1)
        // A prefill chunk of sequence 0 now spans both its shards.
        let (hq, hkv, d) = (spec.queryHeads, spec.kvHeads, spec.headDim)
        let start = sequences[0].length(spec: spec)
        for layer in 0..<spec.layers {
            let q = random.floats(5 * hq * d, in: -4..<4)
            let k = random.floats(5 * hkv * d, in: -4..<4)
            let v = random.floats(5 * hkv * d, in: -4..<4)
            let answer = try await cluster.client.prefill(
                sequenceID: sequences[0].id,
                layer: layer,
                startPosition: start,
                q: Self.tensor(q, [5, hq, d]),
                k: Self.tensor(k, [5, hkv, d]),
                v: Self.tensor(v, [5, hkv, d])
            )
            sequences[0].keys[layer] += k
            sequences[0].values[layer] += v
            let expected = try sequences[0].reference(queries: q, layer: layer, spec: spec)
            #expect(expected.largestOutputError(try answer.output.f32Values()) < spec.kvStorage.servedTolerance)
            #expect(expected.largestLogSumExpError(try answer.lse.f32Values()) < spec.kvStorage.servedTolerance)
        }
        try await Self.singleSteps(2, cluster, &sequences, spec: spec, random: &random)
        let stats = try await cluster.stats()
        #expect(stats["cluster.sequences.failed"] == 0)
        #expect(stats["cluster.spills"] == 1)
        await cluster.stop()
    }

    @Test("a prompt whose prefix an earlier sequence committed is placed on its holder and reports the cached tokens")
    func prefixPlacement() async throws {
        let spec = try ModelSpec(parsing: Self.model("f16"))
        let cluster = try await ServedCluster(model: Self.model("f16"), workerCount: 3)
        var random = SplitMix64(seed: 5)
        // Other prompts first, so that the holder is not simply the first worker.
        var others: [ServedSequence] = []
        for index in 0..<2 {
            let tokens = (0..<24).map { UInt32(50_000 + 100 * index + $0) }
            others.append(
                try await Self.openAndPrefill(cluster, namespace: "tenant", tokens: tokens, spec: spec, random: &random)
            )
        }
        let prompt = (0..<40).map { UInt32($0 * 7 + 3) }
        let first = try await Self.openAndPrefill(
            cluster,
            namespace: "tenant",
            tokens: prompt,
            spec: spec,
            random: &random
        )
        try await cluster.client.close(sequenceID: first.id, commit: true)
        // The commit's CacheEvents travel on the worker's registration link; a heartbeat after the
        // close reports no open sequence (until then the coordinator counts the closed sequence
        // as load of unknown length, which may make a pull to an idle worker cheaper).
        try await cluster.waitUntil("the committed pages are indexed and the holder reports no sequence") { stats in
            (stats["worker.\(first.worker).pages.hot"] ?? 0) >= 2
                && stats["worker.\(first.worker).live_sequences"] == 0
        }

        let second = try await cluster.openTracked(namespace: "tenant", tokens: prompt)
        #expect(second.cachedTokens == 32)
        #expect(second.worker == first.worker)
        // The cached pages are the first sequence's K/V: prefilling the rest and attending over all
        // 40 tokens matches the reference over the first sequence's rows.
        _ = try await Self.prefillAfterHit(
            cluster,
            id: second.sequenceID,
            worker: second.worker,
            cachedTokens: 32,
            original: first,
            spec: spec,
            random: &random
        )

        let otherTenant = try await cluster.client.open(namespace: "another-tenant", tokens: prompt)
        #expect(otherTenant.cachedTokens == 0)
        let stats = try await cluster.stats()
        #expect(stats["cluster.cached_tokens"] == 32)
        #expect((stats["worker.\(first.worker).hit_rate_permille"] ?? 0) > 0)
        await cluster.stop()
    }

    @Test(
        "with CURVE on every connection (clients, registration, coordinator to workers) the cluster serves",
        .enabled(if: ZMQContext.hasCurve)
    )
    func curve() async throws {
        let spec = try ModelSpec(parsing: Self.model("f16"))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("serve-curve-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
        let coordinatorPair = try ZMQCurveKeyPair.generate()
        let workerPair = try ZMQCurveKeyPair.generate()
        try coordinatorPair.write(to: path("coordinator.key"))
        try coordinatorPair.writePublicKey(to: path("coordinator.pub"))
        try workerPair.write(to: path("worker.key"))
        try workerPair.writePublicKey(to: path("worker.pub"))
        let cluster = try await ServedCluster(
            model: Self.model("f16"),
            workerCount: 2,
            coordinatorArguments: ["--curve-secret", path("coordinator.key"), "--worker-key", path("worker.pub")],
            workerSecurityArguments: [
                "--curve-secret", path("worker.key"), "--coordinator-key", path("coordinator.pub"),
            ],
            clientCurve: .client(try ZMQCurveKeyPair.generate(), serverKey: coordinatorPair.publicKey)
        )
        var random = SplitMix64(seed: 13)
        var sequences: [ServedSequence] = []
        for index in 0..<2 {
            let tokens = (0..<18).map { UInt32(900 + 100 * index + $0) }
            sequences.append(
                try await Self.openAndPrefill(cluster, namespace: "curve", tokens: tokens, spec: spec, random: &random)
            )
        }
        let step = try await Self.decodeStep(
            cluster,
            &sequences,
            entries: [(0, 1), (1, 1)],
            spec: spec,
            random: &random
        )
        #expect(step < spec.kvStorage.servedTolerance)
        await cluster.stop()
    }

    @Test("StatsRequest to the coordinator answers cluster totals and per-worker figures")
    func stats() async throws {
        let spec = try ModelSpec(parsing: Self.model("f16"))
        let cluster = try await ServedCluster(model: Self.model("f16"), workerCount: 3)
        var random = SplitMix64(seed: 9)
        var sequences: [ServedSequence] = []
        for index in 0..<3 {
            let tokens = (0..<20).map { UInt32(7000 + 100 * index + $0) }
            sequences.append(
                try await Self.openAndPrefill(cluster, namespace: "stats", tokens: tokens, spec: spec, random: &random)
            )
        }
        // Heartbeats carry the workers' own figures.
        try await cluster.waitUntil("every worker has reported its open sequence") { stats in
            (1...3).allSatisfy { stats["worker.\($0).live_sequences"] == 1 }
        }
        let stats = try await cluster.stats()
        #expect(stats["cluster.workers"] == 3)
        #expect(stats["cluster.workers.live"] == 3)
        #expect(stats["cluster.workers.dead"] == 0)
        #expect(stats["cluster.sequences"] == 3)
        #expect(stats["cluster.placements"] == 3)
        #expect(stats["cluster.prompt_tokens"] == 60)
        #expect(stats["cluster.requests.client_errors"] == 0)
        #expect((stats["cluster.requests.client"] ?? 0) >= 3 + 3 * UInt64(spec.layers))
        for id in 1...3 {
            #expect(stats["worker.\(id).state"] == 0)
            #expect(stats["worker.\(id).sequences"] == 1)
            #expect(stats["worker.\(id).placements"] == 1)
            #expect((stats["worker.\(id).free_pages"] ?? 0) > 0)
            #expect((stats["worker.\(id).load_tokens"] ?? 0) > 0)
            // A liveness bound with a wide margin: heartbeats come every 200 ms.
            #expect((stats["worker.\(id).heartbeat_age_ms"] ?? .max) < 10_000)
        }
        for sequence in sequences { try await cluster.client.close(sequenceID: sequence.id, commit: false) }
        #expect(try await cluster.stats()["cluster.sequences"] == 0)
        await cluster.stop()
    }
}

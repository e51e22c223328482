import CacheProtocol
import Coordinator
import Foundation
import Kernels
import TestSupport
import Testing

/// `mfa-coordinator drain` against `mfa-coordinator serve` and three real `mfa-worker`s: every
/// sequence on the drained worker moves to the others, answers after the move are the same bits as
/// before it and as an undrained twin's, requests made during the move are all answered, and the
/// drained worker leaves with exit status 0.
@Suite("mfa-coordinator drain end to end", .serialized)
struct ServeDrainTests {
    typealias EndToEnd = ServeEndToEndTests

    static let model = EndToEnd.model("f16")

    /// One decode step of `layer` for one sequence, its q, k and v drawn from `random`; appends the
    /// new rows to the sequence and checks the answer against the float64 reference. Returns the
    /// answer.
    static func decodeOne(
        _ cluster: ServedCluster,
        _ sequence: inout ServedSequence,
        layer: Int,
        spec: ModelSpec,
        random: inout SplitMix64
    ) async throws -> AttentionOutput {
        let (hq, hkv, d) = (spec.queryHeads, spec.kvHeads, spec.headDim)
        let q = random.floats(hq * d, in: -4..<4)
        let k = random.floats(hkv * d, in: -4..<4)
        let v = random.floats(hkv * d, in: -4..<4)
        let answer = try await cluster.client.decode(
            layer: layer,
            entries: [Decode.Entry(sequenceID: sequence.id, queryTokens: 1)],
            input: AttentionInput(
                q: EndToEnd.tensor(q, [1, hq, d]),
                k: EndToEnd.tensor(k, [1, hkv, d]),
                v: EndToEnd.tensor(v, [1, hkv, d])
            )
        )
        sequence.keys[layer] += k
        sequence.values[layer] += v
        let expected = try sequence.reference(queries: q, layer: layer, spec: spec)
        #expect(expected.largestOutputError(try answer.output.f32Values()) < spec.kvStorage.servedTolerance)
        #expect(expected.largestLogSumExpError(try answer.lse.f32Values()) < spec.kvStorage.servedTolerance)
        return answer
    }

    /// A query of layer 1 without k and v (it changes nothing), drawn from `seed`: attention over
    /// every token the sequence holds, the same bits whenever its pages are the same.
    static func probe(
        _ cluster: ServedCluster,
        _ id: UInt64,
        seed: UInt64,
        spec: ModelSpec
    ) async throws
        -> AttentionOutput
    {
        var random = SplitMix64(seed: 900 + seed)
        let q = random.floats(spec.queryHeads * spec.headDim, in: -4..<4)
        return try await cluster.client.decode(
            layer: 1,
            entries: [Decode.Entry(sequenceID: id, queryTokens: 1)],
            input: AttentionInput(q: EndToEnd.tensor(q, [1, spec.queryHeads, spec.headDim]), k: nil, v: nil)
        )
    }

    /// One decode step (every layer) of original `index` and of its twin with the same rows from
    /// `random[index]`; each answer is checked against the reference and the pair against each
    /// other (bit for bit). Returns whether the pair answered the same bits.
    static func stepPair(
        _ cluster: ServedCluster,
        _ index: Int,
        originals: inout [ServedSequence],
        twins: inout [ServedSequence],
        random: inout [SplitMix64],
        spec: ModelSpec
    ) async throws -> Bool {
        var same = true
        for layer in 0..<spec.layers {
            var twinRandom = random[index]
            let a = try await Self.decodeOne(
                cluster,
                &originals[index],
                layer: layer,
                spec: spec,
                random: &random[index]
            )
            let b = try await Self.decodeOne(cluster, &twins[index], layer: layer, spec: spec, random: &twinRandom)
            same = same && a == b
        }
        return same
    }

    @Test(
        "drain moves every sequence off a worker: answers during and after the move are bit-identical to before and to an undrained twin's, and the worker leaves with status 0"
    )
    func drainMovesEverySequence() async throws {
        let spec = try ModelSpec(parsing: Self.model)
        let cluster = try await ServedCluster(model: Self.model, workerCount: 3)
        // Originals and twins with the same prompts and K/V (the same seed), opened alternately so
        // that placement by load spreads them over the workers.
        var originals: [ServedSequence] = []
        var twins: [ServedSequence] = []
        for (index, length) in [20, 33, 16, 45, 27, 31].enumerated() {
            let tokens = (0..<length).map { UInt32($0 + 1000 * index) }
            var first = SplitMix64(seed: 70 + UInt64(index))
            var second = SplitMix64(seed: 70 + UInt64(index))
            originals.append(
                try await EndToEnd.openAndPrefill(cluster, namespace: "a", tokens: tokens, spec: spec, random: &first)
            )
            twins.append(
                try await EndToEnd.openAndPrefill(cluster, namespace: "b", tokens: tokens, spec: spec, random: &second)
            )
        }
        // Two decode steps on every pair, the same rows for original and twin.
        var random = originals.indices.map { SplitMix64(seed: 500 + UInt64($0)) }
        for index in originals.indices {
            for _ in 0..<2 {
                #expect(
                    try await Self.stepPair(
                        cluster,
                        index,
                        originals: &originals,
                        twins: &twins,
                        random: &random,
                        spec: spec
                    )
                )
            }
        }
        // The worker to drain holds the most originals whose twin is elsewhere.
        let apart = Dictionary(
            grouping: originals.indices.filter { originals[$0].worker != twins[$0].worker },
            by: { originals[$0].worker }
        )
        let (drained, movingOriginals) = try #require(
            apart.max { ($0.value.count, $1.key) < ($1.value.count, $0.key) },
            "no original lies apart from its twin: \(originals.map(\.worker)) / \(twins.map(\.worker))"
        )
        let onDrained = (originals + twins).filter { $0.worker == drained }.count
        #expect(try await cluster.stats()["worker.\(drained).sequences"] == UInt64(onDrained))

        // Pairs with an even index take decode steps during the drain (held while they move, then
        // served on their new worker); the others are probed without changing them.
        let stepped = originals.indices.filter { $0 % 2 == 0 }
        let probed = (originals.indices.filter { $0 % 2 == 1 }).flatMap { [originals[$0], twins[$0]] }
        var before: [UInt64: AttentionOutput] = [:]
        for sequence in probed {
            before[sequence.id] = try await Self.probe(cluster, sequence.id, seed: sequence.id, spec: spec)
        }

        let command = try BuiltExecutable.coordinator.launch(arguments: [
            "drain", "--coordinator", cluster.clientEndpoint, "--worker", "\(drained)", "--wait", "--timeout", "60",
        ])
        var answeredDuringDrain = 0
        var differing: [String] = []
        let deadline = ContinuousClock.now + .seconds(90)
        while command.exit == nil, ContinuousClock.now < deadline {
            for index in stepped {
                let same = try await Self.stepPair(
                    cluster,
                    index,
                    originals: &originals,
                    twins: &twins,
                    random: &random,
                    spec: spec
                )
                if !same { differing.append("step of pair \(index)") }
                answeredDuringDrain += 2 * spec.layers
            }
            for sequence in probed {
                let answer = try await Self.probe(cluster, sequence.id, seed: sequence.id, spec: spec)
                if answer != before[sequence.id] { differing.append("probe of sequence \(sequence.id)") }
                answeredDuringDrain += 1
            }
        }
        let exit = try #require(
            command.waitForExit(within: .seconds(5)),
            "drain did not finish: \(command.diagnostics)"
        )
        #expect(exit == .exited(0), "\(command.diagnostics)")
        #expect(command.standardOutput.contains("worker \(drained) left"), "\(command.diagnostics)")
        #expect(differing.isEmpty, "answers during the drain differ: \(differing)")
        #expect(answeredDuringDrain > 0)

        // Every sequence left the drained worker, which deregistered and exited 0.
        let stats = try await cluster.stats()
        #expect(stats["worker.\(drained).state"] == 3)
        #expect(stats["worker.\(drained).sequences"] == 0)
        #expect(stats["cluster.drain.moved"] == UInt64(onDrained))
        #expect(stats["cluster.drain.stayed"] == 0)
        #expect((stats["cluster.drain.bytes"] ?? 0) > 0)
        #expect(stats["cluster.sequences.failed"] == 0)
        #expect(stats["cluster.sequences"] == UInt64(originals.count + twins.count))
        let worker = try #require(cluster.workers[drained])
        let workerExit = worker.process.waitForExit(within: .seconds(20))
        #expect(workerExit == .exited(0), "\(worker.process.diagnostics)")

        // After the move: the probed sequences answer the bits they answered before it; every
        // original answers its twin's bits, for the same query and for further decode steps, which
        // also match the reference.
        for sequence in probed {
            let after = try await Self.probe(cluster, sequence.id, seed: sequence.id, spec: spec)
            #expect(after == before[sequence.id], "sequence \(sequence.id)")
        }
        for index in originals.indices {
            let original = try await Self.probe(cluster, originals[index].id, seed: UInt64(index), spec: spec)
            let twin = try await Self.probe(cluster, twins[index].id, seed: UInt64(index), spec: spec)
            #expect(original == twin, "pair \(index)")
        }
        for index in movingOriginals + stepped {
            #expect(
                try await Self.stepPair(
                    cluster,
                    index,
                    originals: &originals,
                    twins: &twins,
                    random: &random,
                    spec: spec
                ),
                "pair \(index) differs after the move"
            )
        }
        for sequence in originals + twins {
            try await cluster.client.close(sequenceID: sequence.id, commit: false)
        }
        #expect(try await cluster.stats()["cluster.sequences"] == 0)
        await cluster.stop()
    }
}

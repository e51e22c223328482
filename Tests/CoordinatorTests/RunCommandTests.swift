import CacheProtocol
import Foundation
import Kernels
import TestSupport
import Testing

@testable import Coordinator

/// `mfa-coordinator run --coordinator ENDPOINT` as a real process against a real worker, and the
/// answer check it relies on.
@Suite struct RunCommandTests {
    static let model = "name=demo,layers=2,q-heads=8,kv-heads=2,head-dim=64,kv=f16,page=16"

    @Test(
        "run replays the shipped trace excerpt through a worker: every request completes, every checked answer matches, and one cache with room for everything hits exactly the ideal"
    )
    func replaysTheTraceExcerpt() throws {
        let worker = try launchWorker(model: Self.model, memory: "64MiB")
        let process = try BuiltExecutable.coordinator.launch(arguments: [
            "run", "--coordinator", worker.endpoint, "--model", Self.model, "--trace",
            Fixtures.repositoryPath("data/mooncake-excerpt.jsonl"), "--requests", "30", "--check", "3", "--json",
        ])
        let exit = try #require(
            process.waitForExit(within: .seconds(120)),
            "run did not finish: \(process.diagnostics)"
        )
        #expect(exit.exitStatus == 0, "\(process.diagnostics)")
        let line = try #require(process.standardOutput.split(separator: "\n").last.map(String.init))
        let report = try #require(
            try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
            "not a JSON object: \(line)"
        )
        #expect(report["requests"] as? Int == 30)
        #expect(report["completed"] as? Int == 30)
        #expect(report["failed_checks"] as? Int == 0)
        #expect((report["checked"] as? Int ?? 0) > 0)
        let hitRate = try #require(report["hit_rate"] as? Double)
        let ideal = try #require(report["ideal_hit_rate"] as? Double)
        #expect(ideal > 0)
        #expect(abs(hitRate - ideal) < 1e-9)
    }

    @Test("a wrong answer fails its check; the reference's own answer passes")
    func checkCanFail() throws {
        let spec = try ModelSpec(parsing: Self.model)
        var random = SplitMix64(seed: 5)
        let kv = SyntheticKV(seed: 9, rowWidth: spec.kvHeads * spec.headDim)
        var sequence = CheckedSequence(spec: spec, kv: kv, checked: true, tolerance: 1e-3)
        let tokens: [UInt32] = [3, 1, 4, 1, 5]
        sequence.remember(tokens, from: 0)
        let q = random.floats(spec.queryHeads * spec.headDim)
        let reference = DenseReference(
            queryHeads: spec.queryHeads,
            kvHeads: spec.kvHeads,
            headDim: spec.headDim,
            storage: spec.kvStorage
        )
        let keys = tokens.enumerated().map { kv.row(layer: 1, position: $0.offset, token: $0.element, value: false) }
        let values = tokens.enumerated().map { kv.row(layer: 1, position: $0.offset, token: $0.element, value: true) }
        let expected = try reference.attention(queries: q, keys: keys, values: values)
        func answer(_ output: [Float]) throws -> AttentionOutput {
            try AttentionOutput(
                output: WireTensor(f32: output, shape: [1, spec.queryHeads, spec.headDim]),
                lse: WireTensor(f32: expected.logSumExp, shape: [1, spec.queryHeads])
            )
        }
        sequence.check(layer: 1, queries: q, answer: try answer(expected.output))
        #expect(sequence.checkedAnswers == 1 && sequence.failedChecks == 0)
        var wrong = expected.output
        wrong[7] += 0.5
        sequence.check(layer: 1, queries: q, answer: try answer(wrong))
        #expect(sequence.checkedAnswers == 2 && sequence.failedChecks == 1)
        #expect(sequence.worstDeviation > 1e-2)
    }
}

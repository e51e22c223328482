import Foundation
import Kernels
import TestSupport
import Testing

@testable import Coordinator

/// `mfa-coordinator attention` as a real process, and the job behind it in-process.
@Suite struct AttentionCommandTests {
    /// Runs the built `mfa-coordinator` with `arguments` to its end; returns its exit status and
    /// standard error.
    static func run(_ arguments: [String]) throws -> (status: Int32?, stderr: String) {
        let process = try BuiltExecutable.coordinator.launch(arguments: arguments)
        let exit = process.waitForExit(within: .seconds(120))
        return (exit?.exitStatus, process.standardError)
    }

    /// A fresh temporary directory, removed by the caller.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("attention-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func computesCausalAttentionFromFiles() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var generator = SplitMix64.fresh()
        func random(_ shape: [Int]) throws -> NPYArray {
            try NPYArray(shape: shape, values: generator.floats(shape.reduce(1, *)))
        }
        let q = try random([2, 4, 9, 32])
        let k = try random([2, 2, 13, 32])
        let v = try random([2, 2, 13, 32])
        let path = { (name: String) in directory.appendingPathComponent(name).path }
        try q.write(to: path("q.npy"))
        try k.write(to: path("k.npy"))
        try v.write(to: path("v.npy"))
        let result = try Self.run([
            "attention", "--q", path("q.npy"), "--k", path("k.npy"), "--v", path("v.npy"),
            "--out", path("out.npy"), "--lse", path("lse.npy"), "--causal", "--threads", "2",
        ])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let output = try NPYArray(contentsOf: path("out.npy"))
        let lse = try NPYArray(contentsOf: path("lse.npy"))
        #expect(output.shape == [2, 4, 9, 32] && lse.shape == [2, 4, 9])
        let reference = ReferenceAttention.dense(
            q: q.values,
            k: try KVTensor(k.values, rowLength: 32, storage: .f32),
            v: try KVTensor(v.values, rowLength: 32, storage: .f32),
            shape: DenseAttentionShape(batch: 2, queryHeads: 4, kvHeads: 2, queryLength: 9, keyLength: 13, headDim: 32),
            options: AttentionOptions(causal: true)
        )
        let deviation = AttentionDeviation(
            AttentionResult(output: output.values, logSumExp: lse.values),
            reference: reference
        )
        #expect(deviation.isWithin(2e-5), "seed \(generator.seed): \(deviation)")
    }

    @Test func badInputExitsWithStatus2AndOneLine() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = { (name: String) in directory.appendingPathComponent(name).path }
        try Data("not an npy file".utf8).write(to: URL(fileURLWithPath: path("bad.npy")))
        try NPYArray(shape: [1, 1, 2, 4], values: [Float](repeating: 0.5, count: 8)).write(to: path("q.npy"))
        try NPYArray(shape: [1, 1, 3, 4], values: [Float](repeating: 0.5, count: 12)).write(to: path("k.npy"))
        let base = [
            "attention", "--q", path("q.npy"), "--k", path("k.npy"), "--v", path("k.npy"), "--out", path("o.npy"),
        ]
        let invocations: [[String]] = [
            ["attention", "--q", path("bad.npy"), "--k", path("k.npy"), "--v", path("k.npy"), "--out", path("o.npy")],
            [
                "attention", "--q", path("missing.npy"), "--k", path("k.npy"), "--v", path("k.npy"), "--out",
                path("o.npy"),
            ],
            ["attention", "--q", path("q.npy"), "--k", path("q.npy"), "--v", path("k.npy"), "--out", path("o.npy")],
            base + ["--kv-dtype", "f64"],
            base + ["--window", "3"],
            base + ["--window", "-2,0"],
            base + ["--softcap", "nan"],
            base + ["--threads", "0"],
            base + ["--scale", "abc"],
            base + ["--no-such-option"],
            ["attention", "--q", path("q.npy")],
        ]
        for arguments in invocations {
            let result = try Self.run(arguments)
            #expect(result.status == 2, "\(arguments): \(result.stderr)")
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.count == 1 && lines.first?.hasPrefix("error: ") == true, "\(arguments): \(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: path("o.npy")))
    }

    @Test func jobChecksShapesAndParsesOptions() throws {
        let q = try NPYArray(shape: [1, 2, 3, 8], values: [Float](repeating: 0.1, count: 48))
        let k = try NPYArray(shape: [1, 1, 5, 8], values: [Float](repeating: 0.2, count: 40))
        let (output, lse) = try AttentionJob.compute(q: q, k: k, v: k, storage: nil, options: AttentionOptions())
        #expect(output.shape == [1, 2, 3, 8] && lse.shape == [1, 2, 3])
        #expect(output.values.allSatisfy { abs($0 - 0.2) < 1e-6 })
        let wrongD = try NPYArray(shape: [1, 1, 5, 4], values: [Float](repeating: 0, count: 20))
        #expect(throws: AttentionJobError.self) {
            try AttentionJob.compute(q: q, k: wrongD, v: wrongD, storage: nil, options: AttentionOptions())
        }
        let rank3 = try NPYArray(shape: [2, 3, 8], values: [Float](repeating: 0, count: 48))
        #expect(throws: AttentionJobError.self) {
            try AttentionJob.compute(q: rank3, k: k, v: k, storage: nil, options: AttentionOptions())
        }
        #expect(try AttentionJob.parseWindow("255,0") == AttentionWindow(left: 255, right: 0))
        #expect(try AttentionJob.parseWindow("-1, 4") == AttentionWindow(left: -1, right: 4))
        #expect(throws: AttentionJobError.self) { try AttentionJob.parseWindow("1,2,3") }
        #expect(try AttentionJob.parseStorage("int8") == .int8)
        #expect(throws: AttentionJobError.self) { try AttentionJob.parseStorage("fp8") }
    }
}

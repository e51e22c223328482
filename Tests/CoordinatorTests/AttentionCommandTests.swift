import Foundation
import Kernels
import Testing
@testable import Coordinator

/// `mfa-coordinator attention` as a real process, and the job behind it in-process.
@Suite struct AttentionCommandTests {
    /// The built `mfa-coordinator`, next to the test bundle in the build directory.
    static func coordinatorBinary() -> URL? {
        let candidates = [
            Bundle.main.bundleURL.deletingLastPathComponent(),
            Bundle.main.bundleURL,
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
        ]
        return candidates.map { $0.appendingPathComponent("mfa-coordinator") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    /// Runs the binary with `arguments`; returns its exit status and standard error.
    static func run(_ arguments: [String]) throws -> (status: Int32, stderr: String) {
        let binary = try #require(coordinatorBinary(), "mfa-coordinator is not built next to the tests")
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let errorPipe = Pipe()
        process.standardError = errorPipe
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        let stderr = errorPipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stderr, as: UTF8.self))
    }

    /// A fresh temporary directory, removed by the caller.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("attention-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Causal attention in float64 over f32 inputs, q `[B, Hq, Nq, D]`, k/v `[B, Hkv, Nk, D]`.
    static func naiveCausal(q: NPYArray, k: NPYArray, v: NPYArray) -> (output: [Double], lse: [Double]) {
        let (batch, hq, nq, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
        let (hkv, nk) = (k.shape[1], k.shape[2])
        var output = [Double](repeating: 0, count: q.values.count)
        var lse = [Double](repeating: 0, count: batch * hq * nq)
        for b in 0..<batch {
            for h in 0..<hq {
                let kvBase = (b * hkv + h / (hq / hkv)) * nk * d
                for i in 0..<nq {
                    let row = (b * hq + h) * nq + i
                    let visible = 0...(i + nk - nq)
                    let scores = visible.map { j in
                        (0..<d).reduce(0.0) { $0 + Double(q.values[row * d + $1]) * Double(k.values[kvBase + j * d + $1]) }
                            / Double(d).squareRoot()
                    }
                    let maximum = scores.max() ?? 0
                    let weights = scores.map { exp($0 - maximum) }
                    let sum = weights.reduce(0, +)
                    lse[row] = maximum + log(sum)
                    for (j, weight) in zip(visible, weights) {
                        for e in 0..<d { output[row * d + e] += weight / sum * Double(v.values[kvBase + j * d + e]) }
                    }
                }
            }
        }
        return (output, lse)
    }

    @Test func computesCausalAttentionFromFiles() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var generator = SystemRandomNumberGenerator()
        func random(_ shape: [Int]) throws -> NPYArray {
            try NPYArray(shape: shape, values: (0..<shape.reduce(1, *)).map { _ in Float.random(in: -1...1, using: &generator) })
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
        let reference = Self.naiveCausal(q: q, k: k, v: v)
        var error = 0.0
        var norm = 0.0
        for (a, b) in zip(output.values, reference.output) {
            error += (Double(a) - b) * (Double(a) - b)
            norm += b * b
        }
        #expect((error / norm).squareRoot() < 2e-5)
        #expect(zip(lse.values, reference.lse).allSatisfy { abs(Double($0) - $1) < 2e-5 })
    }

    @Test func badInputExitsWithStatus2AndOneLine() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = { (name: String) in directory.appendingPathComponent(name).path }
        try Data("not an npy file".utf8).write(to: URL(fileURLWithPath: path("bad.npy")))
        try NPYArray(shape: [1, 1, 2, 4], values: [Float](repeating: 0.5, count: 8)).write(to: path("q.npy"))
        try NPYArray(shape: [1, 1, 3, 4], values: [Float](repeating: 0.5, count: 12)).write(to: path("k.npy"))
        let base = ["attention", "--q", path("q.npy"), "--k", path("k.npy"), "--v", path("k.npy"), "--out", path("o.npy")]
        let invocations: [[String]] = [
            ["attention", "--q", path("bad.npy"), "--k", path("k.npy"), "--v", path("k.npy"), "--out", path("o.npy")],
            ["attention", "--q", path("missing.npy"), "--k", path("k.npy"), "--v", path("k.npy"), "--out", path("o.npy")],
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

import Foundation
import Kernels
import Testing

@testable import Coordinator

/// The benchmark's case list, work counts and output format (no timing).
@Suite struct KernelBenchmarkTests {
    @Test func caseListAndSelection() throws {
        let names = KernelBenchmarkCase.all.map(\.name)
        #expect(
            names == [
                "prefill-causal-d64-n4096-f16", "prefill-causal-d128-n4096-f16", "prefill-causal-d128-n4096-bf16",
                "prefill-dense-d128-n1024-f32", "prefill-gqa-causal-d128-n2048-f16", "prefill-window256-d128-n8192-f16",
                "decode-paged-f16", "decode-paged-int8",
            ]
        )
        #expect(try KernelBenchmark.cases(named: []).count == names.count)
        #expect(try KernelBenchmark.cases(named: ["decode-paged-int8"]).map(\.name) == ["decode-paged-int8"])
        #expect(throws: KernelBenchmarkError.self) { try KernelBenchmark.cases(named: ["prefill-nothing"]) }
    }

    @Test func workCounts() throws {
        let byName = Dictionary(uniqueKeysWithValues: KernelBenchmarkCase.all.map { ($0.name, $0) })
        let causal = try #require(byName["prefill-causal-d128-n4096-f16"])
        #expect(causal.flops == 4 * 8 * 4096 * 4096 * 128 / 2)
        let dense = try #require(byName["prefill-dense-d128-n1024-f32"])
        #expect(dense.flops == 4 * 8 * 1024 * 1024 * 128)
        let window = try #require(byName["prefill-window256-d128-n8192-f16"])
        let visible = 256 * 257 / 2 + (8192 - 256) * 256
        #expect(window.flops == 4 * 8 * 128 * Double(visible))
        #expect(KernelBenchmarkCase.visiblePairs(queries: 4, keys: 4, causal: true, window: .unbounded) == 10)
        #expect(
            KernelBenchmarkCase.visiblePairs(
                queries: 2,
                keys: 5,
                causal: false,
                window: AttentionWindow(left: 1, right: 1)
            ) == 5
        )
        let f16 = try #require(byName["decode-paged-f16"])
        let int8 = try #require(byName["decode-paged-int8"])
        #expect(f16.bytesRead == 2 * 8 * 4096 * 8 * 128 * 2)
        #expect(int8.bytesRead == 2 * 8 * 4096 * 8 * (128 + 4))
        #expect(f16.decodedTokens == 8 && causal.decodedTokens == 0)
    }

    @Test func jsonLinesParseWithTheirKeys() throws {
        let cpu = HostCPU(
            modelName: #"Test "CPU" \ 9000"#,
            family: "25",
            model: "17",
            cores: 2,
            instructionSets: ["avx2", "avx512_bf16"]
        )
        let records: [KernelBenchmarkRecord] = [
            .machine(cpu: cpu, fmaPeakGFLOPS: 512.5, readGBPS: 40.25, threads: 2),
            .compute(
                name: "prefill-causal-d128-n4096-f16",
                bestSeconds: 0.1,
                medianSeconds: 0.11,
                gflops: 343.6,
                peakFraction: 0.67
            ),
            .decode(
                name: "decode-paged-f16",
                bestSeconds: 0.004,
                medianSeconds: 0.005,
                gbps: 33.5,
                bandwidthFraction: 0.82,
                tokensPerSecond: 2000
            ),
        ]
        let expectedKeys: [Set<String>] = [
            ["case", "cpu", "family", "model", "cores", "instruction_sets", "fma_peak_gflops", "read_gbps", "threads"],
            ["case", "gflops", "peak_fraction", "best_seconds", "median_seconds"],
            ["case", "gbps", "bandwidth_fraction", "tokens_per_s", "best_seconds", "median_seconds"],
        ]
        for (record, keys) in zip(records, expectedKeys) {
            let line = record.jsonLine
            #expect(!line.contains("\n"))
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(Set(object.keys) == keys, "\(line)")
            #expect(!record.tableRow.isEmpty)
        }
        let machine = try #require(
            try JSONSerialization.jsonObject(with: Data(records[0].jsonLine.utf8)) as? [String: Any]
        )
        #expect(machine["case"] as? String == "machine")
        #expect(machine["cpu"] as? String == #"Test "CPU" \ 9000"#)
        #expect(machine["family"] as? String == "25")
        #expect(machine["model"] as? String == "17")
        #expect((machine["cores"] as? Int) == 2)
        #expect((machine["fma_peak_gflops"] as? Double) == 512.5)
        #expect((machine["threads"] as? Int) == 2)
        #expect(machine["instruction_sets"] as? [String] == ["avx2", "avx512_bf16"])
        #expect(
            records[0].tableRow
                == #"machine: Test "CPU" \ 9000 (family 25, model 17), 2 cores, avx2 avx512_bf16; "#
                + "fp32 FMA peak 512.5 GFLOP/s, read bandwidth 40.2 GB/s, 2 threads"
        )
    }

    @Test func machineRecordNamesThisCPU() throws {
        var benchmark = KernelBenchmark(threads: 1, repetitions: 1, cases: [])
        benchmark.bandwidthBytes = 1 << 20
        let records = try benchmark.run()
        guard case .machine(let cpu, _, _, let threads) = records.first else {
            Issue.record("no machine record first: \(records)")
            return
        }
        #expect(cpu == HostCPU.current())
        #expect(threads == 1)
        #expect(records[0].tableRow.hasPrefix("machine: \(cpu.modelName)"))
    }

    @Test func refusesBadArguments() {
        #expect(throws: KernelBenchmarkError.self) {
            try KernelBenchmark(threads: 0, repetitions: 1, cases: []).run()
        }
        #expect(throws: KernelBenchmarkError.self) {
            try KernelBenchmark(threads: 1, repetitions: 0, cases: []).run()
        }
    }
}

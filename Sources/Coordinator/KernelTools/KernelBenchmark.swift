import Foundation
import Kernels

/// `bench kernels`: measures the machine's ceilings, times each selected case (one warm-up run,
/// then at least `repetitions` timed runs, more for short cases), measures the FMA peak again,
/// and rates every case against the higher of the two peak measurements (the machine is shared
/// and noisy).
struct KernelBenchmark: Sendable {
    /// Threads for the kernels and the ceilings.
    var threads: Int
    /// Fewest timed runs per case.
    var repetitions: Int
    /// Short cases keep being timed until their runs add up to this long (at most `maximumRuns`), so
    /// that the best run of a few-millisecond case is taken from enough samples on a noisy machine.
    var minimumTimedSeconds = 0.5
    /// Most timed runs per case.
    var maximumRuns = 200
    /// The cases to run.
    var cases: [KernelBenchmarkCase]
    /// Bytes of the array the read bandwidth is measured on.
    var bandwidthBytes = 1 << 30

    /// Selects cases by name (all when `names` is empty).
    static func cases(named names: [String]) throws(KernelBenchmarkError) -> [KernelBenchmarkCase] {
        guard !names.isEmpty else { return KernelBenchmarkCase.all }
        return try names.map { name throws(KernelBenchmarkError) in
            guard let found = KernelBenchmarkCase.all.first(where: { $0.name == name }) else {
                throw .unknownCase(name, known: KernelBenchmarkCase.all.map(\.name))
            }
            return found
        }
    }

    /// Runs the benchmark; returns the machine record first, then one record per case.
    /// `progress` is told each case's name before it runs.
    func run(progress: (String) -> Void = { _ in }) throws(KernelBenchmarkError) -> [KernelBenchmarkRecord] {
        guard threads > 0 else { throw .invalidArgument("--threads must be positive, got \(threads)") }
        guard repetitions > 0 else { throw .invalidArgument("--repeat must be positive, got \(repetitions)") }
        let firstPeak = MachineCeilings.measureFMAPeak(threads: threads)
        let bandwidth = MachineCeilings.measureReadBandwidth(threads: threads, bytes: bandwidthBytes)
        var timings: [(KernelBenchmarkCase, best: Double, median: Double)] = []
        for (index, benchmarkCase) in cases.enumerated() {
            progress(benchmarkCase.name)
            let kernel: @Sendable () throws(KernelError) -> Void
            do {
                kernel = try benchmarkCase.prepare(threads: threads, seed: UInt64(index + 1))
                try kernel()
            } catch {
                throw .kernel(benchmarkCase.name, error)
            }
            var seconds: [Double] = []
            var timed = 0.0
            while seconds.count < repetitions || (timed < minimumTimedSeconds && seconds.count < maximumRuns) {
                let start = ContinuousClock.now
                do { try kernel() } catch { throw .kernel(benchmarkCase.name, error) }
                let elapsed = ContinuousClock.now - start
                seconds.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
                timed += seconds[seconds.count - 1]
            }
            seconds.sort()
            timings.append((benchmarkCase, seconds[0], seconds[seconds.count / 2]))
        }
        let peak = max(firstPeak, MachineCeilings.measureFMAPeak(threads: threads))
        var records = [KernelBenchmarkRecord.machine(fmaPeakGFLOPS: peak, readGBPS: bandwidth, threads: threads)]
        for (benchmarkCase, best, median) in timings {
            if case .decode = benchmarkCase.workload {
                let gbps = benchmarkCase.bytesRead / best / 1e9
                records.append(.decode(
                    name: benchmarkCase.name, bestSeconds: best, medianSeconds: median, gbps: gbps,
                    bandwidthFraction: gbps / bandwidth, tokensPerSecond: Double(benchmarkCase.decodedTokens) / best))
            } else {
                let gflops = benchmarkCase.flops / best / 1e9
                records.append(.compute(
                    name: benchmarkCase.name, bestSeconds: best, medianSeconds: median, gflops: gflops,
                    peakFraction: gflops / peak))
            }
        }
        return records
    }
}

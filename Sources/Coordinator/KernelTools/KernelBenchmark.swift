import Foundation
import Kernels

/// `bench kernels`: measures the machine's ceilings, prepares every selected case (one warm-up run
/// each), then times the cases in interleaved rounds, and measures the ceilings again; every case
/// is rated against the higher of the two measurements of each ceiling.
///
/// The machine is shared and its speed moves from second to second. Timing case after case lets
/// one case fall wholly in a slow spell and the next in a quiet one; in rounds, each case runs for
/// about `roundSeconds` (at least once) in every round until it has enough runs, so all cases
/// sample the same spells and their best runs are comparable.
public struct KernelBenchmark: Sendable {
    /// Threads for the kernels and the ceilings.
    var threads: Int
    /// Fewest timed runs per case.
    var repetitions: Int
    /// Each case keeps being timed until its runs add up to this long (past `repetitions` runs, at
    /// most `maximumRuns`), so that the best run of a few-millisecond case is taken from enough
    /// samples on a noisy machine.
    var minimumTimedSeconds = 1.0
    /// Most timed runs per case, unless `repetitions` asks for more.
    var maximumRuns = 400
    /// Time each unfinished case runs in one round (at least one run).
    var roundSeconds = 0.05
    /// The cases to run.
    var cases: [KernelBenchmarkCase]
    /// Bytes of the array the read bandwidth is measured on.
    var bandwidthBytes = 1 << 30

    /// Selects cases by name (all when `names` is empty).
    public static func cases(named names: [String]) throws(KernelBenchmarkError) -> [KernelBenchmarkCase] {
        guard !names.isEmpty else { return KernelBenchmarkCase.all }
        return try names.map { name throws(KernelBenchmarkError) in
            guard let found = KernelBenchmarkCase.all.first(where: { $0.name == name }) else {
                throw .unknownCase(name, known: KernelBenchmarkCase.all.map(\.name))
            }
            return found
        }
    }

    /// Runs the benchmark; returns the machine record (the CPU and its ceilings) first, then one
    /// record per case.
    /// `progress` is told each case's name before it is prepared.
    public func run(progress: (String) -> Void = { _ in }) throws(KernelBenchmarkError) -> [KernelBenchmarkRecord] {
        guard threads > 0 else { throw .invalidArgument("--threads must be positive, got \(threads)") }
        guard repetitions > 0 else { throw .invalidArgument("--repeat must be positive, got \(repetitions)") }
        let firstPeak = MachineCeilings.measureFMAPeak(threads: threads)
        let firstBandwidth = MachineCeilings.measureReadBandwidth(threads: threads, bytes: bandwidthBytes)
        var kernels: [@Sendable () throws(KernelError) -> Void] = []
        for (index, benchmarkCase) in cases.enumerated() {
            progress(benchmarkCase.name)
            do {
                let kernel = try benchmarkCase.prepare(threads: threads, seed: UInt64(index + 1))
                try kernel()
                kernels.append(kernel)
            } catch {
                throw .kernel(benchmarkCase.name, error)
            }
        }
        var seconds = [[Double]](repeating: [], count: cases.count)
        var timed = [Double](repeating: 0, count: cases.count)
        func finished(_ index: Int) -> Bool {
            seconds[index].count >= repetitions
                && (timed[index] >= minimumTimedSeconds || seconds[index].count >= maximumRuns)
        }
        while cases.indices.contains(where: { !finished($0) }) {
            for index in cases.indices where !finished(index) {
                var slice = 0.0
                repeat {
                    let start = ContinuousClock.now
                    do { try kernels[index]() } catch { throw .kernel(cases[index].name, error) }
                    let elapsed = ContinuousClock.now - start
                    let run = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
                    seconds[index].append(run)
                    timed[index] += run
                    slice += run
                } while slice < roundSeconds && !finished(index)
            }
        }
        let peak = max(firstPeak, MachineCeilings.measureFMAPeak(threads: threads))
        let bandwidth = max(
            firstBandwidth,
            MachineCeilings.measureReadBandwidth(threads: threads, bytes: bandwidthBytes)
        )
        var records = [
            KernelBenchmarkRecord.machine(
                cpu: .current(),
                fmaPeakGFLOPS: peak,
                readGBPS: bandwidth,
                threads: threads
            )
        ]
        for (benchmarkCase, runs) in zip(cases, seconds) {
            let sorted = runs.sorted()
            let best = sorted[0]
            let median = sorted[sorted.count / 2]
            if case .decode = benchmarkCase.workload {
                let gbps = benchmarkCase.bytesRead / best / 1e9
                records.append(
                    .decode(
                        name: benchmarkCase.name,
                        bestSeconds: best,
                        medianSeconds: median,
                        gbps: gbps,
                        bandwidthFraction: gbps / bandwidth,
                        tokensPerSecond: Double(benchmarkCase.decodedTokens) / best
                    )
                )
            } else {
                let gflops = benchmarkCase.flops / best / 1e9
                records.append(
                    .compute(
                        name: benchmarkCase.name,
                        bestSeconds: best,
                        medianSeconds: median,
                        gflops: gflops,
                        peakFraction: gflops / peak
                    )
                )
            }
        }
        return records
    }
}

extension KernelBenchmark {
    /// A benchmark of `cases` on `threads` threads, each case timed at least `repetitions` times.
    public init(threads: Int, repetitions: Int, cases: [KernelBenchmarkCase]) {
        self.threads = threads
        self.repetitions = repetitions
        self.cases = cases
    }
}

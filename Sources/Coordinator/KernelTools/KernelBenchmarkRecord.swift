import Foundation

/// One line of `bench kernels` output: the machine (its CPU and ceilings) or one case's measured rate.
public enum KernelBenchmarkRecord: Sendable, Equatable {
    /// The CPU the run was on, and the ceilings measured in it: fp32 FMA peak (GFLOP/s) and read
    /// bandwidth (GB/s).
    case machine(cpu: HostCPU, fmaPeakGFLOPS: Double, readGBPS: Double, threads: Int)
    /// A prefill case: its best and median seconds, its rate at the best time, and the fraction of
    /// the FMA peak that rate is.
    case compute(name: String, bestSeconds: Double, medianSeconds: Double, gflops: Double, peakFraction: Double)
    /// A decode case: best and median seconds, K+V bytes read per second at the best time, the
    /// fraction of the read bandwidth, and tokens decoded per second.
    case decode(
        name: String,
        bestSeconds: Double,
        medianSeconds: Double,
        gbps: Double,
        bandwidthFraction: Double,
        tokensPerSecond: Double
    )

    /// The record as one JSON object on one line.
    public var jsonLine: String {
        func number(_ value: Double) -> String { value.isFinite ? String(format: "%.6g", value) : "null" }
        func string(_ value: String) -> String {
            var quoted = "\""
            for scalar in value.unicodeScalars {
                switch scalar {
                case "\"": quoted += "\\\""
                case "\\": quoted += "\\\\"
                case _ where scalar.value < 0x20: quoted += String(format: "\\u%04x", scalar.value)
                default: quoted.unicodeScalars.append(scalar)
                }
            }
            return quoted + "\""
        }
        switch self {
        case let .machine(cpu, peak, read, threads):
            return "{\"case\":\"machine\",\"cpu\":\(string(cpu.modelName)),\"family\":\(string(cpu.family ?? "")),"
                + "\"model\":\(string(cpu.model ?? "")),\"cores\":\(cpu.cores),"
                + "\"instruction_sets\":[\(cpu.instructionSets.map(string).joined(separator: ","))],"
                + "\"fma_peak_gflops\":\(number(peak)),\"read_gbps\":\(number(read)),\"threads\":\(threads)}"
        case let .compute(name, best, median, gflops, fraction):
            return "{\"case\":\"\(name)\",\"gflops\":\(number(gflops)),\"peak_fraction\":\(number(fraction)),"
                + "\"best_seconds\":\(number(best)),\"median_seconds\":\(number(median))}"
        case let .decode(name, best, median, gbps, fraction, tokens):
            return "{\"case\":\"\(name)\",\"gbps\":\(number(gbps)),\"bandwidth_fraction\":\(number(fraction)),"
                + "\"tokens_per_s\":\(number(tokens)),\"best_seconds\":\(number(best)),\"median_seconds\":\(number(median))}"
        }
    }

    /// The record as one row of the human-readable table.
    public var tableRow: String {
        func pad(_ text: String, _ width: Int) -> String {
            text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
        }
        func milliseconds(_ seconds: Double) -> String { String(format: "%9.2f", seconds * 1000) }
        switch self {
        case let .machine(cpu, peak, read, threads):
            return "machine: \(cpu); "
                + String(
                    format: "fp32 FMA peak %.1f GFLOP/s, read bandwidth %.1f GB/s, %d threads",
                    peak,
                    read,
                    threads
                )
        case let .compute(name, best, median, gflops, fraction):
            return pad(name, 36) + milliseconds(best) + milliseconds(median)
                + String(format: "  %8.1f GFLOP/s  %5.1f%% of FMA peak", gflops, fraction * 100)
        case let .decode(name, best, median, gbps, fraction, tokens):
            return pad(name, 36) + milliseconds(best) + milliseconds(median)
                + String(
                    format: "  %8.1f GB/s     %5.1f%% of read bandwidth, %.0f tokens/s",
                    gbps,
                    fraction * 100,
                    tokens
                )
        }
    }

    /// The heading of the table's case rows.
    public static let tableHeading = "case                                  best ms  median ms  rate"
}

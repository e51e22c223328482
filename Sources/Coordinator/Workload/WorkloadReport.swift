import Foundation

/// What `mfa-coordinator run` prints for one run: the client's measurements, the ideal hit rate of
/// the same requests (one unlimited cache), and the per-worker figures the cluster reported.
public struct WorkloadReport: Sendable {
    /// The placement policy the cluster ran with, when known.
    public var placement: String?
    /// The client's measurements.
    public var measurements: WorkloadMeasurements
    /// The hit rate no placement can beat, over the same prompts and page size.
    public var idealHitRate: Double
    /// Per worker (by id), the counters the coordinator reports for it (`worker.<id>.<name>`
    /// without the prefix); empty when the endpoint is a single worker.
    public var workers: [UInt64: [String: UInt64]]
    /// KV pages moved between workers during the run (pulls of cached prefixes, replicas, moved
    /// shards), raw and as they travelled; `nil` when the endpoint is a single worker.
    public var moved: PeerTransfers?

    /// A report.
    public init(
        placement: String?,
        measurements: WorkloadMeasurements,
        idealHitRate: Double,
        workers: [UInt64: [String: UInt64]],
        moved: PeerTransfers? = nil
    ) {
        self.placement = placement
        self.measurements = measurements
        self.idealHitRate = idealHitRate
        self.workers = workers
        self.moved = moved
    }

    /// What a coordinator's `cluster.moved.*` counters grew by between two readings; `nil` when
    /// the second has none (the endpoint is not a coordinator).
    public static func moved(from before: [String: UInt64], to after: [String: UInt64]) -> PeerTransfers? {
        guard after["cluster.moved.pages"] != nil else { return nil }
        func growth(_ name: String) -> UInt64 {
            let end = after[name] ?? 0
            let start = before[name] ?? 0
            return end >= start ? end - start : end  // a worker restarted: its totals began again
        }
        return PeerTransfers(
            pages: growth("cluster.moved.pages"),
            rawBytes: growth("cluster.moved.bytes"),
            encodedBytes: growth("cluster.moved.bytes_encoded")
        )
    }

    /// Per-worker counters from a coordinator's `StatsReply` counters.
    public static func workerCounters(_ counters: [String: UInt64]) -> [UInt64: [String: UInt64]] {
        var workers: [UInt64: [String: UInt64]] = [:]
        for (name, value) in counters where name.hasPrefix("worker.") {
            let parts = name.split(separator: ".", maxSplits: 2)
            guard parts.count == 3, let id = UInt64(parts[1]) else { continue }
            workers[id, default: [:]][String(parts[2])] = value
        }
        return workers
    }

    /// Whether every request completed and every checked answer matched the reference.
    public var passed: Bool { measurements.failed == 0 && measurements.failedChecks == 0 }

    /// The report as lines for a person.
    public var lines: [String] {
        let m = measurements
        var lines = [
            "requests     \(m.completed) of \(m.requests) completed, \(m.failed) failed"
                + (placement.map { ", placement \($0)" } ?? ""),
            "prefix hits  \(Self.percent(m.hitRate)) of \(m.promptTokens) prompt tokens cached "
                + "(ideal \(Self.percent(idealHitRate))); \(m.prefilledTokens) tokens prefilled",
            "throughput   prefill \(Self.fixed(m.prefillTokensPerSecond)) tokens/s, decode \(Self.fixed(m.decodeTokensPerSecond)) tokens/s "
                + "over \(Self.fixed(m.wall.inSeconds, digits: 2)) s",
            "latency      prefill p50 \(Self.fixed(m.prefillLatency.percentile(0.5), digits: 2)) ms, "
                + "p99 \(Self.fixed(m.prefillLatency.percentile(0.99), digits: 2)) ms; decode step "
                + "p50 \(Self.fixed(m.stepLatency.percentile(0.5), digits: 2)) ms, p99 \(Self.fixed(m.stepLatency.percentile(0.99), digits: 2)) ms",
            "checks       \(m.checkedAnswers) answers against the dense reference, \(m.failedChecks) beyond tolerance, "
                + "largest deviation \(String(format: "%.2e", Double(m.worstDeviation)))",
        ]
        if let moved {
            let ratio =
                moved.encodedBytes == 0
                ? "" : String(format: " (%.2f:1)", Double(moved.rawBytes) / Double(moved.encodedBytes))
            lines.append(
                "moved        \(moved.pages) pages between workers: \(Self.mebibytes(moved.rawBytes)) raw, "
                    + "\(Self.mebibytes(moved.encodedBytes)) on the wire\(ratio)"
            )
        }
        for (id, counters) in workers.sorted(by: { $0.key < $1.key }) {
            var shown: [String] = []
            if let state = counters["state"] { shown.append(Self.stateNames[Int(state)] ?? "state \(state)") }
            if let placements = counters["placements"] { shown.append("\(placements) placements") }
            if let hits = counters["hit_rate_permille"] {
                shown.append(String(format: "hit rate %.1f%%", Double(hits) / 10))
            }
            if let hot = counters["pages.hot"] { shown.append("\(hot) pages indexed hot") }
            if let lower = counters["pages.compressed"], lower > 0 { shown.append("\(lower) compressed") }
            if let received = counters["received.pages"] { shown.append("\(received) pages received") }
            if let sequences = counters["sequences"] { shown.append("\(sequences) sequences open") }
            lines.append("worker \(id)     " + shown.joined(separator: ", "))
        }
        for error in m.errors { lines.append("error        \(error)") }
        return lines
    }

    /// The report as one JSON object (rates as fractions 0–1, hit rates over prompt tokens).
    public var json: String {
        let m = measurements
        var fields: [String] = []
        if let placement { fields.append("\"placement\": \"\(placement)\"") }
        fields += [
            "\"requests\": \(m.requests)", "\"completed\": \(m.completed)", "\"failed\": \(m.failed)",
            "\"hit_rate\": \(Self.fixed(m.hitRate, digits: 4))",
            "\"ideal_hit_rate\": \(Self.fixed(idealHitRate, digits: 4))",
            "\"prompt_tokens\": \(m.promptTokens)", "\"prefill_tokens\": \(m.prefilledTokens)",
            "\"prefill_tokens_per_s\": \(Self.fixed(m.prefillTokensPerSecond))",
            "\"decode_tokens_per_s\": \(Self.fixed(m.decodeTokensPerSecond))",
            "\"p50_prefill_ms\": \(Self.fixed(m.prefillLatency.percentile(0.5), digits: 3))",
            "\"p99_prefill_ms\": \(Self.fixed(m.prefillLatency.percentile(0.99), digits: 3))",
            "\"p50_step_ms\": \(Self.fixed(m.stepLatency.percentile(0.5), digits: 3))",
            "\"p99_step_ms\": \(Self.fixed(m.stepLatency.percentile(0.99), digits: 3))",
            "\"checked\": \(m.checkedAnswers)", "\"failed_checks\": \(m.failedChecks)",
        ]
        if let moved {
            fields += [
                "\"pages_moved\": \(moved.pages)", "\"bytes_moved\": \(moved.rawBytes)",
                "\"bytes_moved_compressed\": \(moved.encodedBytes)",
            ]
        }
        let workerObjects = workers.sorted(by: { $0.key < $1.key }).map { id, counters in
            "{\"id\": \(id)" + counters.sorted(by: { $0.key < $1.key }).map { ", \"\($0.key)\": \($0.value)" }.joined()
                + "}"
        }
        fields.append("\"workers\": [\(workerObjects.joined(separator: ", "))]")
        return "{" + fields.joined(separator: ", ") + "}"
    }

    /// The names of the coordinator's worker states by code (`worker.<id>.state`).
    private static let stateNames = [0: "live", 1: "draining", 2: "dead", 3: "left"]

    private static func mebibytes(_ bytes: UInt64) -> String {
        String(format: "%.1f MiB", Double(bytes) / 1_048_576)
    }

    private static func percent(_ fraction: Double) -> String { String(format: "%.1f%%", fraction * 100) }

    private static func fixed(_ value: Double, digits: Int = 1) -> String { String(format: "%.\(digits)f", value) }

}

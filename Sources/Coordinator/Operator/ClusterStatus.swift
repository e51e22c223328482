import Foundation

/// What `mfa-coordinator status` shows: the coordinator's cluster totals and a line per worker,
/// read from its `StatsReply`, as a table or as JSON.
public struct ClusterStatus: Sendable, Hashable {
    /// The `cluster.*` counters by name.
    public var totals: [String: UInt64]
    /// The workers, by id.
    public var workers: [WorkerStatus]

    /// The status the coordinator's counters describe.
    public init(counters: [String: UInt64]) {
        totals = counters.filter { $0.key.hasPrefix("cluster.") }
        var ids = Set<UInt64>()
        for name in counters.keys where name.hasPrefix("worker.") && name.hasSuffix(".state") {
            let middle = name.dropFirst("worker.".count).dropLast(".state".count)
            if let id = UInt64(middle) { ids.insert(id) }
        }
        workers = ids.sorted().compactMap { WorkerStatus(id: $0, counters: counters) }
    }

    /// A table of the workers, then the totals, for a person to read.
    public var table: String {
        let header = [
            "worker", "state", "hot", "compressed", "disk", "remote", "sequences", "live", "free", "evictable",
            "load", "hit_rate", "placements", "received", "heartbeat",
        ]
        var rows = [header]
        for worker in workers {
            rows.append([
                String(worker.id), worker.state, String(worker.pagesHot), String(worker.pagesCompressed),
                String(worker.pagesDisk), String(worker.pagesRemote), String(worker.sequences),
                String(worker.liveSequences), String(worker.freePages), String(worker.evictablePages),
                String(worker.loadTokens), Self.percent(worker.hitRate), String(worker.placements),
                String(worker.receivedPages), "\(worker.heartbeatAgeMilliseconds) ms",
            ])
        }
        let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        var lines = rows.map { row in
            zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces)
        }
        func total(_ name: String) -> UInt64 { totals["cluster." + name] ?? 0 }
        lines.append("")
        lines.append(
            "workers \(total("workers")) (live \(total("workers.live")), draining \(total("workers.draining")), dead \(total("workers.dead")), left \(total("workers.left")))"
        )
        lines.append(
            "sequences \(total("sequences")) (failed \(total("sequences.failed"))), index \(total("index.pages")) pages of \(total("index.keys")) keys, hit rate \(Self.percent(Double(total("hit_rate_permille")) / 1000))"
        )
        lines.append(
            "drains \(total("drains")) under way, \(total("drains.completed")) completed; sequences moved \(total("drain.moved")) (\(total("drain.pages")) pages, \(total("drain.bytes")) bytes), stayed \(total("drain.stayed")), pages pulled \(total("drain.pulled"))"
        )
        return lines.joined(separator: "\n")
    }

    /// One JSON object: `cluster` (every `cluster.*` counter by name without the prefix) and
    /// `workers` (one object per worker).
    public func json() throws -> String {
        struct Document: Encodable {
            var cluster: [String: UInt64]
            var workers: [WorkerStatus]
        }
        let cluster = Dictionary(
            uniqueKeysWithValues: totals.map { (String($0.key.dropFirst("cluster.".count)), $0.value) }
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return String(decoding: try encoder.encode(Document(cluster: cluster, workers: workers)), as: UTF8.self)
    }

    /// `rate` as a percentage with one decimal.
    static func percent(_ rate: Double) -> String {
        String(format: "%.1f%%", rate * 100)
    }
}

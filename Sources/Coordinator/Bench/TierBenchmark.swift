import CacheProtocol
import Foundation
import Kernels

/// The tier cases of `bench worker`: how fast a real `mfa-worker` moves pages between its hot pool
/// and its lower tiers, per direction, against the machine's ceilings measured in the same run.
///
/// A worker with a small hot pool, a compressed-RAM tier and a disk tier takes `pages` pages by
/// PagePut (each put evicts older pages: hot → compressed → disk) and gives them all back by
/// PageGet, newest first (each get promotes: compressed → hot, disk → hot, and evicts again). A second worker
/// with a small hot pool and a `--role store` worker as its remote tier does the same (hot → remote,
/// remote → hot). The worker times each move itself (encoding, compression, file write with its
/// fsyncs, remote request, read and checksum-verified decode) and reports bytes and nanoseconds per
/// direction in its stats; each row is those bytes over that time. Ceilings, measured in the same
/// run: a 256 MiB memcpy; and on the data directory's file system the bare durable page-file
/// protocol (write a page-sized file, fsync, rename, fsync the directory) for directions into disk,
/// and reading and removing such files for directions out of disk.
public struct TierBenchmark {
    /// One measured line.
    public enum Row: Sendable, Equatable {
        /// The machine's ceilings.
        case ceilings(memcpyGBps: Double, pageFileWriteGBps: Double, pageFileReadGBps: Double)
        /// One direction's throughput and its fraction of the relevant ceiling.
        case move(direction: String, gbps: Double, ceiling: String, fraction: Double)

        /// The `--json` line.
        var json: String {
            switch self {
            case let .ceilings(memcpy, write, read):
                "{\"case\":\"tier-ceilings\",\"memcpy_gbps\":\(Self.number(memcpy)),\"page_file_write_gbps\":\(Self.number(write)),\"page_file_read_gbps\":\(Self.number(read))}"
            case let .move(direction, gbps, ceiling, fraction):
                "{\"case\":\"tier-\(direction)\",\"gbps\":\(Self.number(gbps)),\"\(ceiling)_fraction\":\(Self.number(fraction))}"
            }
        }

        /// The human table line.
        var text: String {
            switch self {
            case let .ceilings(memcpy, write, read):
                "tier-ceilings            memcpy \(Self.number(memcpy)) GB/s  page file durable write \(Self.number(write)) GB/s  read \(Self.number(read)) GB/s"
            case let .move(direction, gbps, ceiling, fraction):
                "\("tier-\(direction)".padding(toLength: 25, withPad: " ", startingAt: 0))\(Self.number(gbps)) GB/s  \(Self.number(fraction * 100))% of \(ceiling)"
            }
        }

        private static func number(_ value: Double) -> String { String(format: "%.3f", value) }
    }

    /// The `mfa-worker` to start.
    var workerBinary: URL
    /// Pages moved (64 KiB f16 pages).
    var pages = 512
    /// Pages of the hot pool.
    var hotPages = 16
    /// Pages the compressed tier holds.
    var compressedPages = 128
    /// Pages per PagePut / PageGet request.
    var pagesPerRequest = 4

    /// Runs every case, handing each row to `report` as soon as it is measured.
    func run(report: (Row) -> Void) async throws {
        let directory = NSTemporaryDirectory() + "mfa-tier-bench-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let memcpy = MachineCeilings.measureCopyBandwidth()
        let spec = try ModelSpec(
            name: "tiers",
            layers: 1,
            queryHeads: 8,
            kvHeads: 8,
            headDim: 128,
            kvStorage: .f16,
            pageSize: 16
        )
        let layout = try PageLayout(layers: 1, pageSize: 16, kvHeads: 8, headDim: 128, storage: .f16)
        let pageBytes = layout.rawByteCount + 64
        let files = try DiskCeilings.pageFileGBps(directory: directory, bytes: layout.rawByteCount + 40)
        report(.ceilings(memcpyGBps: memcpy, pageFileWriteGBps: files.write, pageFileReadGBps: files.read))
        let local = try await measure(
            spec: spec,
            layout: layout,
            arguments: [
                "--memory", String(hotPages * layout.rawByteCount), "--compressed-memory",
                String(compressedPages * pageBytes),
                "--data-dir", directory + "/data", "--disk", String(2 * pages * pageBytes),
            ]
        )
        let store = try LaunchedWorker(
            binary: workerBinary,
            arguments: [
                "--model", spec.description, "--role", "store", "--memory", String((pages + 16) * layout.rawByteCount),
            ]
        )
        defer { store.stop() }
        let remote = try await measure(
            spec: spec,
            layout: layout,
            arguments: [
                "--memory", String(hotPages * layout.rawByteCount), "--remote", store.endpoint,
            ]
        )
        for (direction, gbps) in local.merging(remote, uniquingKeysWith: { first, _ in first }).sorted(by: {
            $0.key < $1.key
        }) {
            let (ceiling, ceilingGBps) =
                direction.hasSuffix("-disk")
                ? ("page_file_write", files.write)
                : direction.hasPrefix("disk-") ? ("page_file_read", files.read) : ("memcpy", memcpy)
            report(.move(direction: direction, gbps: gbps, ceiling: ceiling, fraction: gbps / ceilingGBps))
        }
    }

    /// Puts then gets every page through a worker started with `arguments`; GB/s per direction
    /// from the worker's move counters.
    private func measure(spec: ModelSpec, layout: PageLayout, arguments: [String]) async throws -> [String: Double] {
        let worker = try LaunchedWorker(binary: workerBinary, arguments: ["--model", spec.description] + arguments)
        defer { worker.stop() }
        let client = try ClusterClient(context: try ZMQContext(), endpoint: worker.endpoint, timeout: .seconds(120))
        var random = SplitMix64(seed: 7)
        let codec = PageCodec()
        let all = try (0..<pages).map { index in
            let values = random.floats(layout.elementCount).map { $0 * 2 }
            var key = [UInt8](repeating: 0xA5, count: 32)
            withUnsafeBytes(of: UInt64(index).littleEndian) { key.replaceSubrange(0..<8, with: $0) }
            guard let prefixKey = PrefixKey(bytes: key) else {
                throw WorkerBenchmark.Mismatch(description: "key of 32 bytes refused")
            }
            return EncodedPage(key: prefixKey, bytes: codec.encode(try RawPage(layout: layout, values: values)))
        }
        let batches = stride(from: 0, to: pages, by: pagesPerRequest).map {
            Array(all[$0..<min(pages, $0 + pagesPerRequest)])
        }
        for batch in batches { try await client.putPages(batch) }
        var fetched = 0
        for batch in batches.reversed() { fetched += try await client.getPages(batch.reversed().map(\.key)).count }
        let counters = try await client.stats()
        await client.disconnect()
        guard fetched == pages else {
            throw WorkerBenchmark.Mismatch(description: "put \(pages) pages through the tiers, got \(fetched) back")
        }
        var result: [String: Double] = [:]
        for (name, bytes) in counters where name.hasPrefix("tier_move_") && name.hasSuffix("_bytes") {
            let stem = String(name.dropLast("_bytes".count))
            guard let nanoseconds = counters[stem + "_ns"], nanoseconds > 0 else { continue }
            let direction = stem.dropFirst("tier_move_".count).replacingOccurrences(of: "_", with: "-")
            result[direction] = Double(bytes) / Double(nanoseconds)
        }
        return result
    }

}

import CacheProtocol
import Foundation
import Kernels

/// `bench worker`: what the worker's socket service costs on top of its kernel, and how fast a
/// store worker takes and gives pages, against real `mfa-worker` processes on loopback.
///
/// - `decode-service-overhead`: one decode step of a batch (no k/v appended, so every step is the
///   same `PagedAttention.run` call) timed through the socket — request encoding, loopback, the
///   worker's decoding, kernel and reply — divided by the same kernel call made in this process
///   over the same page contents. The worker's pages are filled with `PagePut` under the prompt's
///   prefix keys and the sequences opened on them, so no prefill runs. Medians of `steps` steps.
///   So that the ratio measures the service alone, the in-process call is made as the worker makes
///   it: on a pool of as many pages as the worker's memory budget gives it, with the pages of each
///   sequence at the ids the worker allocates them (lowest first, in `PagePut` order: one run of
///   consecutive pages per sequence, the same block tables; the pool's size alone moved the ratio
///   by ~15%, see docs/BENCHMARKS.md); from a serial dispatch queue of its own, as the worker's
///   attention runner calls it, with every core; and with both
///   processes idle: steps alternate (so that load from elsewhere hits both alike), and before each
///   timed step the benchmark waits `settle`, so that neither the worker (freeing its request and
///   reply, libzmq's I/O thread finishing the send) nor this process (its socket threads, freeing
///   the previous result) still works on the previous step while the other is timed.
/// - `store-put-*` / `store-get-*`: pages stored into, then fetched from, a `--role store` worker
///   in requests of `pagesPerRequest` pages; pages per second, GB/s of raw page bytes, and that
///   rate as a fraction of a 256 MiB `memcpy` measured in the same run (`MachineCeilings`), just
///   before the store cases.
public struct WorkerBenchmark {
    /// One measured line.
    public enum Row: Sendable, Equatable {
        /// Socket step time over in-process step time.
        case serviceOverhead(serviceSeconds: Double, kernelSeconds: Double)
        /// The memory-copy ceiling the store cases are compared with.
        case ceiling(memcpyGBps: Double)
        /// Page throughput of one direction and page size, and its fraction of the copy ceiling.
        case store(name: String, pagesPerSecond: Double, gbps: Double, memcpyFraction: Double)
        /// A tier case (`TierBenchmark`).
        case tier(TierBenchmark.Row)

        /// The `--json` line.
        public var json: String {
            switch self {
            case let .serviceOverhead(service, kernel):
                "{\"case\":\"decode-service-overhead\",\"ratio\":\(Self.number(service / kernel)),\"service_ms\":\(Self.number(service * 1e3)),\"kernel_ms\":\(Self.number(kernel * 1e3))}"
            case let .ceiling(memcpy):
                "{\"case\":\"worker-ceilings\",\"memcpy_gbps\":\(Self.number(memcpy))}"
            case let .store(name, rate, gbps, fraction):
                "{\"case\":\"\(name)\",\"ops_per_s\":\(Self.number(rate)),\"gbps\":\(Self.number(gbps)),\"memcpy_fraction\":\(Self.number(fraction))}"
            case let .tier(row):
                row.json
            }
        }

        /// The human table line.
        public var text: String {
            switch self {
            case let .serviceOverhead(service, kernel):
                "decode-service-overhead  service \(Self.number(service * 1e3)) ms  kernel \(Self.number(kernel * 1e3)) ms  ratio \(Self.number(service / kernel))"
            case let .ceiling(memcpy):
                "worker-ceilings          memcpy 256 MiB \(Self.number(memcpy)) GB/s"
            case let .store(name, rate, gbps, fraction):
                "\(name.padding(toLength: 25, withPad: " ", startingAt: 0))\(Self.number(rate)) pages/s  \(Self.number(gbps)) GB/s  \(Self.number(fraction * 100))% of memcpy"
            case let .tier(row):
                row.text
            }
        }

        private static func number(_ value: Double) -> String { String(format: "%.3f", value) }
    }

    /// A reply that does not match what the benchmark sent.
    struct Mismatch: Error, CustomStringConvertible {
        /// What differed.
        let description: String
    }

    /// The `mfa-worker` to start.
    var workerBinary: URL
    /// Sequences in the decode batch.
    var batch = 8
    /// Query heads.
    var queryHeads = 32
    /// KV heads.
    var kvHeads = 8
    /// Head dimension.
    var headDim = 128
    /// Cached tokens of each sequence (a multiple of `pageSize`).
    var cachedTokens = 4096
    /// Tokens a page.
    var pageSize = 16
    /// Timed decode steps (after 3 warm-up steps).
    var steps = 30
    /// The pause before each timed decode step (socket or in process), for both processes to be idle.
    var settle = Duration.milliseconds(20)
    /// Pages moved in each store case.
    var storePages = (small: 1024, large: 128)
    /// Pages per PagePut / PageGet request.
    var pagesPerRequest = 16
    /// Pages moved through the tiers in the tier cases.
    var tierPages = 512

    /// Runs every case, handing each row to `report` as soon as it is measured.
    public func run(report: (Row) -> Void) async throws {
        report(try await measureDecode())
        let memcpy = MachineCeilings.measureCopyBandwidth()
        report(.ceiling(memcpyGBps: memcpy))
        for (label, layers, count) in [("64k", 1, storePages.small), ("1m", 16, storePages.large)] {
            for row in try await measureStore(label: label, layers: layers, pages: count, memcpyGBps: memcpy) {
                report(row)
            }
        }
        var tiers = TierBenchmark(workerBinary: workerBinary)
        tiers.pages = tierPages
        tiers.compressedPages = tierPages / 4
        try await tiers.run { report(.tier($0)) }
    }

    // MARK: decode

    private func measureDecode() async throws -> Row {
        let spec = try ModelSpec(
            name: "bench",
            layers: 1,
            queryHeads: queryHeads,
            kvHeads: kvHeads,
            headDim: headDim,
            kvStorage: .f16,
            pageSize: pageSize
        )
        let layout = try PageLayout(layers: 1, pageSize: pageSize, kvHeads: kvHeads, headDim: headDim, storage: .f16)
        let pagesPerSequence = cachedTokens / pageSize
        let pageCount = batch * pagesPerSequence
        // The worker's pool: its memory budget holds `pageCount + spare` pages of this layout.
        let workerPages = pageCount + 64
        var random = SplitMix64(seed: 1)
        var pool = try KVPagePool(
            pageCount: workerPages,
            pageSize: pageSize,
            kvHeads: kvHeads,
            headDim: headDim,
            storage: .f16
        )
        var pages: [[EncodedPage]] = []
        var prompts: [[UInt32]] = []
        let codec = PageCodec()
        let tokenWidth = kvHeads * headDim
        for sequence in 0..<batch {
            let prompt = (0..<UInt32(cachedTokens + 1)).map { $0 &+ UInt32(sequence) &* 1_000_003 }
            let keys = PrefixKey.chain(
                namespace: "bench",
                fingerprint: spec.fingerprint,
                tokens: prompt,
                pageSize: pageSize
            )
            var encoded: [EncodedPage] = []
            for (index, key) in keys.enumerated() {
                let values = random.floats(layout.elementCount)
                let page = sequence * pagesPerSequence + index
                for slot in 0..<pageSize {
                    let k = Array(values[slot * tokenWidth..<(slot + 1) * tokenWidth])
                    let v = Array(values[(pageSize + slot) * tokenWidth..<(pageSize + slot + 1) * tokenWidth])
                    try pool.write(page: page, slot: slot, keys: k, values: v)
                }
                encoded.append(EncodedPage(key: key, bytes: codec.encode(try RawPage(layout: layout, values: values))))
            }
            pages.append(encoded)
            prompts.append(prompt)
        }
        let q = random.floats(batch * queryHeads * headDim)

        let memory = layout.rawByteCount * workerPages
        let worker = try LaunchedWorker(
            binary: workerBinary,
            arguments: ["--model", spec.description, "--memory", String(memory)]
        )
        defer { worker.stop() }
        let context = try ZMQContext()
        let client = try ClusterClient(context: context, endpoint: worker.endpoint, timeout: .seconds(120))
        var ids: [UInt64] = []
        for (sequence, prompt) in prompts.enumerated() {
            try await client.putPages(pages[sequence])
            let opened = try await client.open(namespace: "bench", tokens: prompt)
            guard opened.cachedTokens == cachedTokens else {
                throw Mismatch(
                    description: "the worker reports \(opened.cachedTokens) cached tokens, \(cachedTokens) were stored"
                )
            }
            ids.append(opened.sequenceID)
        }
        let input = try AttentionInput(q: WireTensor(f32: q, shape: [batch, queryHeads, headDim]), k: nil, v: nil)
        let entries = ids.map { Decode.Entry(sequenceID: $0, queryTokens: 1) }
        let tables = (0..<batch).map { sequence in
            Array(sequence * pagesPerSequence..<(sequence + 1) * pagesPerSequence)
        }
        let lengths = [Int](repeating: cachedTokens, count: batch)
        let kernel = InProcessKernel(q: q, queryHeads: queryHeads, pool: pool, blockTables: tables, kvLengths: lengths)
        var local: [Float] = []
        var remote: [Float] = []
        var kernelTimes: [Double] = []
        var serviceTimes: [Double] = []
        // Steps alternate between the two, so that load from elsewhere on the machine hits both
        // alike; each starts after `settle`, with both processes idle.
        for step in 0..<steps + 3 {
            try await Task.sleep(for: settle)
            let (output, kernelSeconds) = try await kernel.step()
            local = output
            try await Task.sleep(for: settle)
            let serviceStart = ContinuousClock.now
            remote = try await client.decode(layer: 0, entries: entries, input: input).output.f32Values()
            let serviceSeconds = serviceStart.duration(to: .now).inSeconds
            guard step >= 3 else { continue }
            kernelTimes.append(kernelSeconds)
            serviceTimes.append(serviceSeconds)
        }
        await client.disconnect()
        guard remote == local else {
            throw Mismatch(description: "the worker's decode output differs from the kernel's")
        }
        return .serviceOverhead(serviceSeconds: serviceTimes.median, kernelSeconds: kernelTimes.median)
    }

    // MARK: store

    private func measureStore(label: String, layers: Int, pages count: Int, memcpyGBps: Double) async throws -> [Row] {
        let spec = try ModelSpec(
            name: "store",
            layers: layers,
            queryHeads: kvHeads,
            kvHeads: kvHeads,
            headDim: headDim,
            kvStorage: .f16,
            pageSize: pageSize
        )
        let layout = try PageLayout(
            layers: layers,
            pageSize: pageSize,
            kvHeads: kvHeads,
            headDim: headDim,
            storage: .f16
        )
        var random = SplitMix64(seed: 2)
        let codec = PageCodec()
        let pages = try (0..<count).map { index in
            var key = [UInt8](repeating: 0, count: 32)
            withUnsafeBytes(of: UInt64(index).littleEndian) { key.replaceSubrange(0..<8, with: $0) }
            guard let prefixKey = PrefixKey(bytes: key) else { throw Mismatch(description: "key of 32 bytes refused") }
            return EncodedPage(
                key: prefixKey,
                bytes: codec.encode(try RawPage(layout: layout, values: random.floats(layout.elementCount)))
            )
        }
        let worker = try LaunchedWorker(
            binary: workerBinary,
            arguments: [
                "--model", spec.description, "--role", "store", "--memory", String(layout.rawByteCount * (count + 16)),
            ]
        )
        defer { worker.stop() }
        let context = try ZMQContext()
        let client = try ClusterClient(context: context, endpoint: worker.endpoint, timeout: .seconds(120))
        let batches = stride(from: 0, to: count, by: pagesPerRequest).map {
            Array(pages[$0..<min(count, $0 + pagesPerRequest)])
        }
        let putStart = ContinuousClock.now
        for batch in batches { try await client.putPages(batch) }
        let putSeconds = putStart.duration(to: .now).inSeconds
        var fetched = 0
        let getStart = ContinuousClock.now
        for batch in batches { fetched += try await client.getPages(batch.map(\.key)).count }
        let getSeconds = getStart.duration(to: .now).inSeconds
        await client.disconnect()
        guard fetched == count else { throw Mismatch(description: "stored \(count) pages, fetched \(fetched)") }
        let bytes = Double(count * layout.rawByteCount)
        return [
            .store(
                name: "store-put-\(label)",
                pagesPerSecond: Double(count) / putSeconds,
                gbps: bytes / putSeconds / 1e9,
                memcpyFraction: bytes / putSeconds / 1e9 / memcpyGBps
            ),
            .store(
                name: "store-get-\(label)",
                pagesPerSecond: Double(count) / getSeconds,
                gbps: bytes / getSeconds / 1e9,
                memcpyFraction: bytes / getSeconds / 1e9 / memcpyGBps
            ),
        ]
    }

    // MARK: support

    /// Makes the in-process decode call from a serial dispatch queue of its own, as the worker's
    /// attention runner makes it, and times it there.
    private final class InProcessKernel: Sendable {
        let q: [Float]
        let queryHeads: Int
        let pool: KVPagePool
        let blockTables: [[Int]]
        let kvLengths: [Int]
        private let queue = DispatchQueue(label: "bench.attention", qos: .userInitiated)

        init(q: [Float], queryHeads: Int, pool: KVPagePool, blockTables: [[Int]], kvLengths: [Int]) {
            self.q = q
            self.queryHeads = queryHeads
            self.pool = pool
            self.blockTables = blockTables
            self.kvLengths = kvLengths
        }

        /// One decode step: its output and its seconds.
        func step() async throws -> ([Float], Double) {
            let outcome: Result<([Float], Double), KernelError> = await withCheckedContinuation { continuation in
                queue.async { [self] in
                    let start = ContinuousClock.now
                    do throws(KernelError) {
                        let output = try PagedAttention.run(
                            q: q,
                            queryLength: 1,
                            queryHeads: queryHeads,
                            pool: pool,
                            blockTables: blockTables,
                            kvLengths: kvLengths
                        ).output
                        continuation.resume(
                            returning: .success((output, start.duration(to: .now).inSeconds))
                        )
                    } catch {
                        continuation.resume(returning: .failure(error))
                    }
                }
            }
            return try outcome.get()
        }
    }

}

extension WorkerBenchmark {
    /// A benchmark of the `mfa-worker` binary at `workerBinary`, with the default shapes.
    public init(workerBinary: URL) {
        self.workerBinary = workerBinary
    }
}

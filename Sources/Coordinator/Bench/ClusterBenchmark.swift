import CacheProtocol
import Foundation
import Kernels

/// `bench cluster`: what the coordinator adds to a decode step, and what spreading a batch or a
/// sequence over workers gives, against real `mfa-coordinator serve` and `mfa-worker` processes on
/// loopback (`LocalCluster`).
///
/// Every case fills the workers' prefix caches with `PagePut` (the pages of each sequence's prompt
/// under its prefix keys, on the worker chosen for it), waits until the coordinator has indexed
/// them from the workers' events, and opens the sequences through the coordinator, which places
/// each on its holder: no prefill runs. A timed step is a decode of one query token per sequence
/// without k and v (so every step is the same computation), with a pause of `settle` before it so
/// that no process still works on the previous one.
///
/// - `coordinator-overhead-<shape>`: steps through the coordinator against the same step sent to
///   the worker directly (same sequences, same ids), alternating, on a cluster of one worker;
///   medians, and the coordinator's share `(through − direct) / direct`. The outputs must be
///   bit-identical (one shard: the coordinator passes the worker's answer on).
/// - `decode-<n>-workers`: the same batch on 1, 2 and 3 workers (sequence `i` on worker
///   `i mod n`), through the coordinator: decode tokens per second, and the ratio to one worker.
/// - `sharded-2-workers`: one sequence of `2 × shardTokens` tokens held as two shards (its first
///   half cached on a worker with room for exactly that, the second half appended through the
///   coordinator in decode chunks of one page, which spills it to the second worker), against the
///   same sequence, built the same way, on one worker of another cluster; steps alternate between
///   the two clusters. Reports both medians, their ratio, and the largest difference between the
///   two outputs relative to the largest output (the merge of two partial states against one pass).
public struct ClusterBenchmark: Sendable {
    /// One measured line.
    public enum Row: Sendable, Equatable {
        /// The machine the figures belong to.
        case machine(HostCPU)
        /// Step medians through the coordinator and direct to the worker, for a shape.
        case overhead(shape: String, throughSeconds: Double, directSeconds: Double)
        /// Decode tokens per second of the batch on `workers` workers, and the ratio to one worker.
        case scaling(workers: Int, tokensPerSecond: Double, stepSeconds: Double, ratioToOne: Double)
        /// One sequence over two shards against the same sequence on one worker.
        case sharded(shardedSeconds: Double, singleSeconds: Double, relativeDifference: Double)

        /// The `--json` line.
        public var json: String {
            switch self {
            case let .machine(cpu):
                "{\"case\": \"machine\", \"cpu\": \"\(cpu.modelName)\", \"family\": \"\(cpu.family ?? "")\", \"model\": \"\(cpu.model ?? "")\", \"cores\": \(cpu.cores)}"
            case let .overhead(shape, through, direct):
                "{\"case\": \"coordinator-overhead-\(shape)\", \"through_ms\": \(Self.number(through * 1e3)), \"direct_ms\": \(Self.number(direct * 1e3)), \"added_fraction\": \(Self.number((through - direct) / direct))}"
            case let .scaling(workers, rate, step, ratio):
                "{\"case\": \"decode-\(workers)-workers\", \"tokens_per_s\": \(Self.number(rate)), \"step_ms\": \(Self.number(step * 1e3)), \"ratio_to_one\": \(Self.number(ratio))}"
            case let .sharded(sharded, single, difference):
                "{\"case\": \"sharded-2-workers\", \"sharded_ms\": \(Self.number(sharded * 1e3)), \"single_ms\": \(Self.number(single * 1e3)), \"ratio\": \(Self.number(sharded / single)), \"relative_difference\": \(String(format: "%.3e", difference))}"
            }
        }

        /// The human table line.
        public var text: String {
            switch self {
            case let .machine(cpu):
                "machine".padding(toLength: 40, withPad: " ", startingAt: 0) + cpu.description
            case let .overhead(shape, through, direct):
                "coordinator-overhead-\(shape)".padding(toLength: 40, withPad: " ", startingAt: 0)
                    + "through \(Self.number(through * 1e3)) ms  direct \(Self.number(direct * 1e3)) ms  added \(Self.number((through - direct) / direct * 100))%"
            case let .scaling(workers, rate, step, ratio):
                "decode-\(workers)-workers".padding(toLength: 40, withPad: " ", startingAt: 0)
                    + "\(Self.number(rate)) tokens/s  step \(Self.number(step * 1e3)) ms  \(Self.number(ratio))× one worker"
            case let .sharded(sharded, single, difference):
                "sharded-2-workers".padding(toLength: 40, withPad: " ", startingAt: 0)
                    + "sharded \(Self.number(sharded * 1e3)) ms  one worker \(Self.number(single * 1e3)) ms  ratio \(Self.number(sharded / single))  outputs differ by \(String(format: "%.1e", difference))"
            }
        }

        private static func number(_ value: Double) -> String { String(format: "%.3f", value) }
    }

    /// A decode shape: the batch, the heads and the cached tokens of each sequence.
    public struct Shape: Sendable, Hashable {
        /// Its name in the rows.
        public var name: String
        /// Sequences in the batch.
        public var batch: Int
        /// Query heads.
        public var queryHeads: Int
        /// KV heads.
        public var kvHeads: Int
        /// Head dimension.
        public var headDim: Int
        /// Cached tokens of each sequence (a multiple of `pageSize`).
        public var tokens: Int
        /// Tokens a page.
        public var pageSize = 16

        /// A shape.
        public init(name: String, batch: Int, queryHeads: Int, kvHeads: Int, headDim: Int, tokens: Int) {
            self.name = name
            self.batch = batch
            self.queryHeads = queryHeads
            self.kvHeads = kvHeads
            self.headDim = headDim
            self.tokens = tokens
        }

        /// The kernels' `decode-paged-f16` case: 8 sequences of 4096 tokens, 32 query and 8 KV
        /// heads of 128.
        public static let decodePagedF16 = Shape(
            name: "decode-paged-f16",
            batch: 8,
            queryHeads: 32,
            kvHeads: 8,
            headDim: 128,
            tokens: 4096
        )
        /// A small step, where fixed costs show: one sequence of 256 tokens, 8 query and 2 KV heads
        /// of 64.
        public static let small = Shape(name: "small", batch: 1, queryHeads: 8, kvHeads: 2, headDim: 64, tokens: 256)

        /// A one-layer f16 model of this shape.
        func spec() throws -> ModelSpec {
            try ModelSpec(
                name: "bench",
                layers: 1,
                queryHeads: queryHeads,
                kvHeads: kvHeads,
                headDim: headDim,
                kvStorage: .f16,
                pageSize: pageSize
            )
        }

        /// The page layout of `spec()`.
        func layout() throws -> PageLayout {
            try PageLayout(layers: 1, pageSize: pageSize, kvHeads: kvHeads, headDim: headDim, storage: .f16)
        }
    }

    /// Why the benchmark stopped.
    public struct Failure: Error, CustomStringConvertible {
        /// What went wrong.
        public var description: String
    }

    /// The folder holding `mfa-coordinator` and `mfa-worker`.
    public var binaries: URL
    /// The shapes of the overhead case.
    public var overheadShapes: [Shape] = [.decodePagedF16, .small]
    /// The batch of the scaling case (divisible by 1, 2 and 3).
    public var scalingShape = Shape(
        name: "scaling",
        batch: 12,
        queryHeads: 32,
        kvHeads: 8,
        headDim: 128,
        tokens: 4096
    )
    /// Tokens of each shard in the sharded case (a multiple of the page size), 32 query and 8 KV
    /// heads of 128.
    public var shardTokens = 4096
    /// Timed steps of each case (after 3 warm-up steps).
    public var steps = 30
    /// The pause before each timed step.
    public var settle = Duration.milliseconds(20)

    /// A benchmark of the binaries in `binaries`, with the default shapes.
    public init(binaries: URL) {
        self.binaries = binaries
    }

    /// Runs every case, handing each row to `report` as soon as it is measured.
    public func run(report: (Row) -> Void) async throws {
        report(.machine(.current()))
        for shape in overheadShapes { report(try await measureOverhead(shape)) }
        var one = 0.0
        for workers in 1...3 {
            let seconds = try await measureScaling(workers: workers)
            if workers == 1 { one = seconds }
            report(
                .scaling(
                    workers: workers,
                    tokensPerSecond: Double(scalingShape.batch) / seconds,
                    stepSeconds: seconds,
                    ratioToOne: one / seconds
                )
            )
        }
        report(try await measureSharded())
    }

    // MARK: cases

    private func measureOverhead(_ shape: Shape) async throws -> Row {
        let cluster = try await startCluster(shape, workerPages: [shape.batch * shape.tokens / shape.pageSize + 64])
        defer { _ = cluster.stop() }
        let context = try ZMQContext()
        let coordinator = try ClusterClient(context: context, endpoint: cluster.clientEndpoint, timeout: .seconds(120))
        let worker = try ClusterClient(context: context, endpoint: cluster.workers[0].endpoint, timeout: .seconds(120))
        defer {
            Task {
                await coordinator.disconnect()
                await worker.disconnect()
            }
        }
        var random = SplitMix64(seed: 11)
        let ids = try await fillAndOpen(shape, sequences: shape.batch, on: { _ in 0 }, cluster, coordinator, &random)
        let step = try Step(shape: shape, ids: ids, random: &random)
        var through: [Double] = []
        var direct: [Double] = []
        for index in 0..<steps + 3 {
            let (viaCoordinator, throughSeconds) = try await timed { try await step.run(coordinator) }
            let (viaWorker, directSeconds) = try await timed { try await step.run(worker) }
            guard viaCoordinator == viaWorker else {
                throw Failure(description: "the coordinator's answer differs from the worker's (\(shape.name))")
            }
            guard index >= 3 else { continue }
            through.append(throughSeconds)
            direct.append(directSeconds)
        }
        return .overhead(shape: shape.name, throughSeconds: through.median, directSeconds: direct.median)
    }

    private func measureScaling(workers: Int) async throws -> Double {
        let shape = scalingShape
        let perWorker = (shape.batch + workers - 1) / workers * shape.tokens / shape.pageSize + 64
        let cluster = try await startCluster(shape, workerPages: [Int](repeating: perWorker, count: workers))
        defer { _ = cluster.stop() }
        let context = try ZMQContext()
        let client = try ClusterClient(context: context, endpoint: cluster.clientEndpoint, timeout: .seconds(120))
        defer { Task { await client.disconnect() } }
        var random = SplitMix64(seed: 12)
        let ids = try await fillAndOpen(
            shape,
            sequences: shape.batch,
            on: { $0 % workers },
            cluster,
            client,
            &random
        )
        let step = try Step(shape: shape, ids: ids, random: &random)
        var times: [Double] = []
        for index in 0..<steps + 3 {
            let (_, seconds) = try await timed { try await step.run(client) }
            if index >= 3 { times.append(seconds) }
        }
        return times.median
    }

    private func measureSharded() async throws -> Row {
        var shape = Shape(name: "sharded", batch: 1, queryHeads: 32, kvHeads: 8, headDim: 128, tokens: shardTokens)
        let shardPages = shardTokens / shape.pageSize
        // The first worker holds exactly the first half; the second, and the single worker, all of it.
        let sharded = try await startCluster(shape, workerPages: [shardPages, 2 * shardPages + 64])
        defer { _ = sharded.stop() }
        let single = try await startCluster(shape, workerPages: [2 * shardPages + 64])
        defer { _ = single.stop() }
        let context = try ZMQContext()
        let shardedClient = try ClusterClient(
            context: context,
            endpoint: sharded.clientEndpoint,
            timeout: .seconds(120)
        )
        let singleClient = try ClusterClient(context: context, endpoint: single.clientEndpoint, timeout: .seconds(120))
        defer {
            Task {
                await shardedClient.disconnect()
                await singleClient.disconnect()
            }
        }
        // The same pages and the same appended tokens on both clusters.
        var shardedRandom = SplitMix64(seed: 13)
        var singleRandom = SplitMix64(seed: 13)
        let shardedID = try await fillAndOpen(
            shape,
            sequences: 1,
            on: { _ in 0 },
            sharded,
            shardedClient,
            &shardedRandom
        )
        let singleID = try await fillAndOpen(shape, sequences: 1, on: { _ in 0 }, single, singleClient, &singleRandom)
        try await appendPages(shape, pages: shardPages, to: shardedID[0], through: shardedClient, &shardedRandom)
        try await appendPages(shape, pages: shardPages, to: singleID[0], through: singleClient, &singleRandom)
        let spills = try await shardedClient.stats()["cluster.spills"] ?? 0
        guard spills == 1 else {
            throw Failure(
                description: "the sequence was to spill once onto the second worker; it spilled \(spills) times"
            )
        }
        shape.tokens = 2 * shardTokens
        let shardedStep = try Step(shape: shape, ids: shardedID, random: &shardedRandom)
        let singleStep = try Step(shape: shape, ids: singleID, random: &singleRandom)
        var shardedTimes: [Double] = []
        var singleTimes: [Double] = []
        var difference = 0.0
        for index in 0..<steps + 3 {
            let (shardedOutput, shardedSeconds) = try await timed { try await shardedStep.run(shardedClient) }
            let (singleOutput, singleSeconds) = try await timed { try await singleStep.run(singleClient) }
            let scale = singleOutput.reduce(0) { max($0, abs(Double($1))) }
            let largest = zip(shardedOutput, singleOutput).reduce(0) { max($0, abs(Double($1.0) - Double($1.1))) }
            difference = max(difference, largest / max(scale, .leastNormalMagnitude))
            guard index >= 3 else { continue }
            shardedTimes.append(shardedSeconds)
            singleTimes.append(singleSeconds)
        }
        return .sharded(
            shardedSeconds: shardedTimes.median,
            singleSeconds: singleTimes.median,
            relativeDifference: difference
        )
    }

    // MARK: support

    /// One query-only decode step of a batch: the same request every time.
    private struct Step: Sendable {
        let entries: [Decode.Entry]
        let input: AttentionInput

        init(shape: Shape, ids: [UInt64], random: inout SplitMix64) throws {
            entries = ids.map { Decode.Entry(sequenceID: $0, queryTokens: 1) }
            let q = random.floats(ids.count * shape.queryHeads * shape.headDim)
            input = try AttentionInput(
                q: WireTensor(f32: q, shape: [ids.count, shape.queryHeads, shape.headDim]),
                k: nil,
                v: nil
            )
        }

        func run(_ client: ClusterClient) async throws -> [Float] {
            try await client.decode(layer: 0, entries: entries, input: input).output.f32Values()
        }
    }

    /// A local cluster of `workerPages.count` workers of `shape`'s model, worker `i` with a hot
    /// pool of `workerPages[i]` pages.
    private func startCluster(_ shape: Shape, workerPages: [Int]) async throws -> LocalCluster {
        let pageBytes = try shape.layout().rawByteCount
        var options = LocalCluster.Options(model: try shape.spec().description)
        options.workers = workerPages.count
        options.workerMemories = workerPages.map { String($0 * pageBytes) }
        options.heartbeatMilliseconds = 200
        return try await LocalCluster(binaries: binaries, options: options)
    }

    /// Puts the pages of `sequences` prompts of `shape.tokens` tokens on the workers `worker(i)`
    /// names, waits until the coordinator has indexed them all, and opens each prompt through
    /// the coordinator; the ids, after checking that each open found its whole prompt cached.
    private func fillAndOpen(
        _ shape: Shape,
        sequences: Int,
        on worker: (Int) -> Int,
        _ cluster: LocalCluster,
        _ client: ClusterClient,
        _ random: inout SplitMix64
    ) async throws -> [UInt64] {
        let spec = try shape.spec()
        let layout = try shape.layout()
        let codec = PageCodec()
        let context = try ZMQContext()
        var prompts: [[UInt32]] = []
        for sequence in 0..<sequences {
            let prompt = (0..<UInt32(shape.tokens)).map { $0 &+ UInt32(sequence) &* 1_000_003 }
            let keys = PrefixKey.chain(
                namespace: "bench",
                fingerprint: spec.fingerprint,
                tokens: prompt,
                pageSize: shape.pageSize
            )
            var pages: [EncodedPage] = []
            for key in keys {
                let raw = try RawPage(layout: layout, values: random.floats(layout.elementCount))
                pages.append(EncodedPage(key: key, bytes: codec.encode(raw)))
            }
            let holder = try ClusterClient(
                context: context,
                endpoint: cluster.workers[worker(sequence)].endpoint,
                timeout: .seconds(120)
            )
            for start in stride(from: 0, to: pages.count, by: 64) {
                try await holder.putPages(Array(pages[start..<min(pages.count, start + 64)]))
            }
            await holder.disconnect()
            prompts.append(prompt)
        }
        let expected = UInt64(sequences * shape.tokens / shape.pageSize)
        let deadline = ContinuousClock.now + .seconds(30)
        while (try await client.stats()["cluster.index.pages"] ?? 0) < expected {
            guard ContinuousClock.now < deadline else {
                throw Failure(description: "the coordinator did not index the \(expected) pages put within 30 s")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        var ids: [UInt64] = []
        for prompt in prompts {
            let opened = try await client.open(namespace: "bench", tokens: prompt)
            guard opened.cachedTokens == shape.tokens else {
                throw Failure(description: "an open found \(opened.cachedTokens) of \(shape.tokens) tokens cached")
            }
            ids.append(opened.sequenceID)
        }
        return ids
    }

    /// Appends `pages` pages of random tokens to sequence `id` through the coordinator, one page a
    /// decode step (every query token attends the tokens before it and itself).
    private func appendPages(
        _ shape: Shape,
        pages: Int,
        to id: UInt64,
        through client: ClusterClient,
        _ random: inout SplitMix64
    ) async throws {
        let rows = shape.pageSize
        for _ in 0..<pages {
            let input = try AttentionInput(
                q: WireTensor(
                    f32: random.floats(rows * shape.queryHeads * shape.headDim),
                    shape: [rows, shape.queryHeads, shape.headDim]
                ),
                k: WireTensor(
                    f32: random.floats(rows * shape.kvHeads * shape.headDim),
                    shape: [rows, shape.kvHeads, shape.headDim]
                ),
                v: WireTensor(
                    f32: random.floats(rows * shape.kvHeads * shape.headDim),
                    shape: [rows, shape.kvHeads, shape.headDim]
                )
            )
            _ = try await client.decode(
                layer: 0,
                entries: [Decode.Entry(sequenceID: id, queryTokens: UInt32(rows))],
                input: input
            )
        }
    }

    /// Waits `settle`, then runs `body` and times it.
    private func timed<T>(_ body: () async throws -> T) async throws -> (T, Double) {
        try await Task.sleep(for: settle)
        let start = ContinuousClock.now
        let value = try await body()
        return (value, start.duration(to: .now).inSeconds)
    }

}

import CacheProtocol
import Kernels

/// `bench coordinator`: the coordinator's state machine alone, in this process, with simulated
/// workers (every directive is answered in code, no socket): ≥ 256 workers and ≥ 1,000,000
/// indexed pages, on one thread.
///
/// - `index-memory`: bytes of resident memory per indexed (key, worker) page: `ResidentMemory`
///   read after the workers registered and again after the index was filled by `CacheEvent`s
///   (`chains` prompts of `chainPages` pages, each held by one worker and every
///   `replicatedEvery`-th by a second), the difference over the pages indexed. The text line also
///   gives the bytes the index's arrays reserve (their capacity) per page.
/// - `events`: `CacheEvent`s applied per second on the full index, each with `keysPerEvent` fresh
///   keys: a stored event, then a removed event of the same keys, on workers in turn, so the
///   index keeps its size. Only the `handle` calls are timed.
/// - `placements`: client `OpenSequence`s of `promptPages`-page prompts handled per second: the
///   prefix keys (SHA-256 chain, computed as far as some worker holds the prefix), the index's
///   leading runs, the cost rule, the table entries and the directives. A prompt is the first
///   0…`promptPages` pages (uniform) of an indexed chain followed by fresh tokens. Opens are timed
///   in batches of `batch`; between batches, untimed, the simulated workers answer the pulls and
///   opens and the sequences are closed. Two text-only lines split the cost, on the first batch's
///   prompts: `key-chains` (all of each prompt's keys, SHA-256 alone) and `decisions` (placement
///   with every key computed beforehand). A third, `key-cache`, gives the share of the keys the
///   timed opens asked for that `PrefixKeyCache` held (it starts empty: the index was filled by
///   events, as after a coordinator restart), and the SHA-256 keys computed per open.
public struct CoordinatorBenchmark: Sendable {
    /// One measured line.
    public enum Row: Sendable, Equatable {
        /// Resident bytes per indexed page (and reserved bytes per page, pages, keys, workers).
        case indexMemory(bytesPerPage: Double, reservedBytesPerPage: Double, pages: Int, keys: Int, workers: Int)
        /// Events applied per second.
        case events(perSecond: Double, keysPerEvent: Int, pages: Int)
        /// Opens placed per second (and the fraction that pulled from a holder).
        case placements(perSecond: Double, promptPages: Int, pullFraction: Double)
        /// Prefix-key chains of one prompt per second, alone (text only: the share of placement
        /// that is SHA-256).
        case keyChains(perSecond: Double, promptPages: Int)
        /// Placement decisions per second with every prompt's keys computed beforehand (text only:
        /// placement without SHA-256).
        case decisions(perSecond: Double, promptPages: Int)
        /// The prefix-key cache over the timed opens (text only): the share of keys asked for that
        /// it held, keys asked for and computed per open, and the pages it holds at the end.
        case keyCache(hitRate: Double, keysPerOpen: Double, computedPerOpen: Double, pages: Int, capacity: Int)

        /// The `--json` line; `nil` for the text-only rows.
        public var json: String? {
            switch self {
            case let .indexMemory(bytes, _, _, _, _):
                "{\"case\": \"index-memory\", \"bytes_per_page\": \(Self.number(bytes))}"
            case let .events(rate, _, _): "{\"case\": \"events\", \"per_s\": \(Self.number(rate))}"
            case let .placements(rate, _, _): "{\"case\": \"placements\", \"per_s\": \(Self.number(rate))}"
            case .keyChains, .decisions, .keyCache: nil
            }
        }

        /// The human line.
        public var text: String {
            switch self {
            case let .indexMemory(bytes, reserved, pages, keys, workers):
                "index-memory   \(Self.number(bytes)) resident bytes per page (arrays reserve \(Self.number(reserved))); \(pages) pages, \(keys) keys, \(workers) workers"
            case let .events(rate, keys, pages):
                "events         \(Self.number(rate)) events/s of \(keys) key\(keys == 1 ? "" : "s") (\(Self.number(rate * Double(keys))) keys/s) on \(pages) indexed pages"
            case let .placements(rate, pages, pulls):
                "placements     \(Self.number(rate)) opens/s of \(pages)-page prompts (\(Self.number(pulls * 100))% pulled from a holder)"
            case let .keyChains(rate, pages):
                "key-chains     \(Self.number(rate)) prefix-key chains/s of \(pages) pages alone (SHA-256)"
            case let .decisions(rate, pages):
                "decisions      \(Self.number(rate)) placement decisions/s of \(pages)-page prompts with their keys computed beforehand"
            case let .keyCache(hitRate, asked, computed, pages, capacity):
                "key-cache      \(Self.number(hitRate * 100))% of prefix keys found in the cache; \(Self.number(asked)) keys asked and \(Self.number(computed)) computed (SHA-256) per open; \(pages) of \(capacity) pages held"
            }
        }

        private static func number(_ value: Double) -> String {
            let rounded = (value * 10).rounded() / 10
            return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
        }
    }

    /// Simulated workers.
    public var workers = 256
    /// Indexed prompts (chains of prefix keys).
    public var chains = 16_384
    /// Pages per indexed chain.
    public var chainPages = 64
    /// Every this many chains is also held by a second worker.
    public var replicatedEvery = 16
    /// Pages per placed prompt.
    public var promptPages = 64
    /// Timed events.
    public var events = 2_000_000
    /// Keys per timed event.
    public var keysPerEvent = 1
    /// Timed opens.
    public var placements = 200_000
    /// Opens per timed batch.
    public var batch = 4096
    /// Seed of the synthetic tokens and keys.
    public var seed: UInt64 = 1

    /// The full-size benchmark.
    public init() {}

    private static let pageSize = 16
    private static let namespace = "bench"
    private static let client = RoutingIdentity([0xBE])

    /// Runs the three cases (and the key-chain, decision and key-cache lines), handing each row to `report` as it is measured.
    public func run(report: (Row) -> Void) throws(CoordinatorBenchmarkError) {
        ResidentMemory.prepare()
        let spec: ModelSpec
        do {
            spec = try ModelSpec(
                name: "bench",
                layers: 32,
                queryHeads: 32,
                kvHeads: 8,
                headDim: 128,
                kvStorage: .f16,
                pageSize: Self.pageSize
            )
        } catch {
            throw .unexpected("the benchmark's model spec: \(error)")
        }
        var cluster = SimulatedCluster(
            instance: CoordinatorInstance(configuration: CoordinatorConfiguration(spec: spec))
        )
        try cluster.register(workers: workers, fingerprint: spec.fingerprint)

        // index-memory
        let before = ResidentMemory.bytes()
        for chain in 0..<chains {
            let keys = PrefixKey.chain(
                namespace: Self.namespace,
                fingerprint: spec.fingerprint,
                tokens: chainTokens(chain),
                pageSize: Self.pageSize
            )
            for holder in holders(of: chain) { cluster.event(worker: holder, kind: .stored, keys: keys) }
        }
        let after = ResidentMemory.bytes()
        let pages = cluster.instance.index.pageCount
        report(
            .indexMemory(
                bytesPerPage: Double(after - before) / Double(max(1, pages)),
                reservedBytesPerPage: Double(cluster.instance.index.reservedBytes) / Double(max(1, pages)),
                pages: pages,
                keys: cluster.instance.index.keyCount,
                workers: workers
            )
        )

        // events
        var random = SplitMix64(seed: seed ^ 0xE7E7)
        var timed = Duration.zero
        var applied = 0
        let eventBatch = 1 << 16
        let clock = ContinuousClock()
        while applied < events {
            var inputs: [CoordinatorInput] = []
            inputs.reserveCapacity(eventBatch)
            while inputs.count < eventBatch {
                let worker = 1 + (applied + inputs.count) / 2 % workers
                let keys = (0..<keysPerEvent).map { _ in Self.randomKey(&random) }
                inputs.append(cluster.eventInput(worker: worker, kind: .stored, keys: keys))
                inputs.append(cluster.eventInput(worker: worker, kind: .removed, keys: keys))
            }
            let now = cluster.now
            let start = clock.now
            for input in inputs { _ = cluster.instance.handle(input, at: now) }
            timed += clock.now - start
            applied += inputs.count
        }
        guard cluster.instance.index.pageCount == pages else {
            throw .unexpected(
                "the index holds \(cluster.instance.index.pageCount) pages after the event pairs, \(pages) before"
            )
        }
        report(.events(perSecond: Double(applied) / timed.inSeconds, keysPerEvent: keysPerEvent, pages: pages))

        // placements
        timed = .zero
        let cacheBefore = cluster.instance.keyCache.statistics
        var placed = 0
        var pulls = 0
        while placed < placements {
            let count = min(batch, placements - placed)
            let inputs = (0..<count).map { index -> CoordinatorInput in
                let tokens = promptTokens(&random)
                return .received(
                    Envelope(
                        requestID: UInt64(placed + index + 1),
                        message: .openSequence(
                            OpenSequence(
                                sequenceID: 0,
                                namespace: Self.namespace,
                                shardStart: 0,
                                tokens: tokens
                            )
                        )
                    ),
                    from: .client(Self.client)
                )
            }
            var outputs: [[CoordinatorDirective]] = []
            outputs.reserveCapacity(count)
            let now = cluster.now
            let start = clock.now
            for input in inputs { outputs.append(cluster.instance.handle(input, at: now)) }
            timed += clock.now - start
            if placed == 0 {
                var chains: [[PrefixKey]] = []
                let chainStart = clock.now
                for input in inputs {
                    if case .received(let envelope, _) = input, case .openSequence(let open) = envelope.message {
                        chains.append(
                            PrefixKey.chain(
                                namespace: open.namespace,
                                fingerprint: spec.fingerprint,
                                tokens: open.tokens,
                                pageSize: Self.pageSize
                            )
                        )
                    }
                }
                let chainTime = clock.now - chainStart
                report(.keyChains(perSecond: Double(chains.count) / chainTime.inSeconds, promptPages: promptPages))
                var decided = 0
                let decisionStart = clock.now
                for keys in chains {
                    var source = StoredPrefixKeys(keys)
                    if cluster.instance.place(keys: &source, promptTokens: promptPages * Self.pageSize, excluding: [])
                        != nil
                    {
                        decided += 1
                    }
                }
                let decisionTime = clock.now - decisionStart
                guard decided == chains.count else {
                    throw .unexpected("\(chains.count - decided) prompts found no worker")
                }
                report(.decisions(perSecond: Double(decided) / decisionTime.inSeconds, promptPages: promptPages))
            }
            pulls += try cluster.completeOpens(outputs)
            placed += count
        }
        let cacheUse = cluster.instance.keyCache.statistics.since(cacheBefore)
        report(
            .keyCache(
                hitRate: cacheUse.hitRate,
                keysPerOpen: Double(cacheUse.hits + cacheUse.misses) / Double(max(1, placed)),
                computedPerOpen: Double(cacheUse.computed) / Double(max(1, placed)),
                pages: cluster.instance.keyCache.count,
                capacity: cluster.instance.keyCache.capacity
            )
        )
        report(
            .placements(
                perSecond: Double(placed) / timed.inSeconds,
                promptPages: promptPages,
                pullFraction: Double(pulls) / Double(placed)
            )
        )
    }

    /// The workers (1-based ids) holding chain `chain`.
    private func holders(of chain: Int) -> [Int] {
        let first = 1 + chain % workers
        return chain % replicatedEvery == 0 ? [first, 1 + (chain + 1) % workers] : [first]
    }

    /// The tokens of chain `chain`, the same on every call.
    private func chainTokens(_ chain: Int) -> [UInt32] {
        var random = SplitMix64(seed: seed &+ UInt64(chain) &* 0x9E37_79B9)
        return (0..<(chainPages * Self.pageSize)).map { _ in UInt32(truncatingIfNeeded: random.next()) }
    }

    /// A prompt: a random chain's first 0…promptPages pages, then fresh tokens.
    private func promptTokens(_ random: inout SplitMix64) -> [UInt32] {
        let chain = Int(random.next() % UInt64(chains))
        let cached = min(chainPages, Int(random.next() % UInt64(promptPages + 1)))
        var tokens = Array(chainTokens(chain).prefix(cached * Self.pageSize))
        tokens.reserveCapacity(promptPages * Self.pageSize)
        while tokens.count < promptPages * Self.pageSize { tokens.append(UInt32(truncatingIfNeeded: random.next())) }
        return tokens
    }

    private static func randomKey(_ random: inout SplitMix64) -> PrefixKey {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        for _ in 0..<4 {
            let word = random.next()
            for shift in stride(from: 0, to: 64, by: 8) {
                bytes.append(UInt8(truncatingIfNeeded: word >> UInt64(shift)))
            }
        }
        return PrefixKey(bytes: bytes) ?? PrefixKey(digest: .zero)
    }

}

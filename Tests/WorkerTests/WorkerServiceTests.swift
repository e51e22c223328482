import CacheProtocol
import Foundation
import Kernels
import Logging
import Synchronization
import Testing

@testable import Worker

/// A `PagePeers` that serves pages from a dictionary, or fails.
private struct StaticPeers: PagePeers {
    var pages: [PrefixKey: EncodedPage] = [:]
    func fetchPages(from endpoint: String, keys: [PrefixKey]) async throws(ServiceError) -> [EncodedPage] {
        guard endpoint == "tcp://peer:1" else { throw .unavailable("no peer at \(endpoint)") }
        return keys.compactMap { pages[$0] }
    }
    func exportShard(from endpoint: String, request: ShardExport) async throws(ServiceError) -> ShardExportReply {
        throw .unavailable("no shard of sequence \(request.sequenceID) at \(endpoint)")
    }
}

/// A `PagePeers` that holds every fetch until the test opens it, and tells the test when one has
/// arrived.
private actor GatedPeers: PagePeers {
    private let pages: [PrefixKey: EncodedPage]
    private var arrived = false
    private var arrivalWaiter: CheckedContinuation<Void, Never>?
    private var opened = false
    private var fetchers: [CheckedContinuation<Void, Never>] = []

    init(pages: [PrefixKey: EncodedPage]) {
        self.pages = pages
    }

    func fetchPages(from endpoint: String, keys: [PrefixKey]) async throws(ServiceError) -> [EncodedPage] {
        arrived = true
        arrivalWaiter?.resume()
        arrivalWaiter = nil
        if !opened { await withCheckedContinuation { fetchers.append($0) } }
        return keys.compactMap { pages[$0] }
    }

    func exportShard(from endpoint: String, request: ShardExport) async throws(ServiceError) -> ShardExportReply {
        throw .unavailable("no shard of sequence \(request.sequenceID) at \(endpoint)")
    }

    /// Returns once a fetch has arrived.
    func waitForFetch() async {
        guard !arrived else { return }
        await withCheckedContinuation { arrivalWaiter = $0 }
    }

    /// Lets every fetch, held or later, go on.
    func open() {
        opened = true
        fetchers.forEach { $0.resume() }
        fetchers = []
    }
}

/// A lower tier in a dictionary, to check what the service demotes and promotes.
private actor DictionaryTiers: LowerTiers {
    var pages: [PrefixKey: RawPage] = [:]
    func demote(key: PrefixKey, page: RawPage) async -> [PrefixKey] {
        pages[key] = page
        return []
    }
    func promote(key: PrefixKey) async -> RawPage? { pages.removeValue(forKey: key) }
    func prefetch(keys: [PrefixKey]) async -> [(key: PrefixKey, page: RawPage)] {
        keys.compactMap { key in pages.removeValue(forKey: key).map { (key, $0) } }
    }
    func contains(key: PrefixKey) async -> Bool { pages[key] != nil }
    func remove(key: PrefixKey) async { pages[key] = nil }
    func movedHot(keys: [PrefixKey]) async { for key in keys { pages[key] = nil } }
    func keys() async -> [PrefixKey] { Array(pages.keys) }
    func flush() async {}
    func needsDurableCopy(key: PrefixKey) async -> Bool { false }
    func keepDurableCopy(key: PrefixKey, page: RawPage) async -> [PrefixKey] { [] }
    func statistics() async -> [StatsReply.Counter] { [] }
}

/// The attention service driven in process, without sockets.
@Suite("WorkerService")
struct WorkerServiceTests {
    static func spec() throws -> ModelSpec {
        try ModelSpec(parsing: "name=svc,layers=2,q-heads=4,kv-heads=2,head-dim=8,kv=f32,page=4")
    }

    static func service(
        pages: Int = 16,
        role: WorkerRole = .compute,
        tiers: any LowerTiers = NoLowerTiers(),
        peers: any PagePeers = StaticPeers()
    ) throws -> WorkerService {
        try WorkerService(
            spec: spec(),
            role: role,
            workerID: 3,
            pageCount: pages,
            tiers: tiers,
            peers: peers,
            threads: 1,
            logger: Logger(label: "test")
        )
    }

    static func send(_ service: WorkerService, _ message: Message, id: UInt64 = 1) async -> ServiceReply {
        await service.handle(Envelope(requestID: id, message: message))
    }

    static func errorCode(_ reply: ServiceReply) -> ErrorCode? {
        guard case .errorReply(let error)? = reply.reply?.message else { return nil }
        return error.code
    }

    /// Prefills `tokens` rows of random q/k/v into every layer.
    static func prefill(
        _ service: WorkerService,
        id: UInt64,
        start: Int,
        rows: Int,
        random: inout SplitMix64
    ) async throws -> [ServiceReply] {
        var replies: [ServiceReply] = []
        for layer in 0..<(try spec().layers) {
            let input = try AttentionInput(
                q: WireTensor(f32: random.floats(rows * 4 * 8, in: -4..<4), shape: [rows, 4, 8]),
                k: WireTensor(f32: random.floats(rows * 2 * 8, in: -4..<4), shape: [rows, 2, 8]),
                v: WireTensor(f32: random.floats(rows * 2 * 8, in: -4..<4), shape: [rows, 2, 8])
            )
            replies.append(
                await send(
                    service,
                    .prefill(
                        try Prefill(sequenceID: id, layer: UInt32(layer), startPosition: UInt32(start), input: input)
                    )
                )
            )
        }
        return replies
    }

    static func open(
        _ service: WorkerService,
        _ tokens: [UInt32],
        namespace: String = "ns"
    ) async throws -> OpenSequenceReply {
        let reply = await send(
            service,
            .openSequence(OpenSequence(sequenceID: 0, namespace: namespace, shardStart: 0, tokens: tokens))
        )
        guard case .openSequenceReply(let body)? = reply.reply?.message else {
            throw ServiceError.internal("no open reply: \(String(describing: reply.reply))")
        }
        return body
    }

    @Test("answers carry the request id; a commit publishes stored events numbered from 1")
    func commitEvents() async throws {
        let service = try Self.service()
        var random = SplitMix64(seed: 1)
        let tokens = (0..<10).map { UInt32($0) }
        let opened = try await Self.open(service, tokens)
        #expect(opened.cachedTokens == 0)
        let replies = try await Self.prefill(service, id: opened.sequenceID, start: 0, rows: 10, random: &random)
        #expect(replies.allSatisfy { Self.errorCode($0) == nil })
        let closed = await Self.send(
            service,
            .closeSequence(CloseSequence(sequenceID: opened.sequenceID, commit: true)),
            id: 99
        )
        #expect(closed.reply == Envelope(requestID: 99, message: .ack(Ack())))
        let keys = PrefixKey.chain(
            namespace: "ns",
            fingerprint: (try Self.spec().fingerprint),
            tokens: tokens,
            pageSize: 4
        )
        #expect(closed.events == [.held(CacheEvent(workerID: 3, eventSequence: 1, kind: .stored, keys: keys))])
        let again = try await Self.open(service, tokens)
        #expect(again.cachedTokens == 8)
        let snapshot = await Self.send(service, .snapshotRequest(SnapshotRequest()))
        guard case .tierSnapshotReply(let body)? = snapshot.reply?.message else {
            throw ServiceError.internal("no snapshot")
        }
        #expect(Set(body.keys) == Set(keys))
        #expect(body.eventSequence == 1)
    }

    @Test("invalid requests get the matching code and change nothing")
    func refusals() async throws {
        let service = try Self.service(pages: 2)
        var random = SplitMix64(seed: 2)
        let opened = try await Self.open(service, [1, 2, 3])
        #expect(
            Self.errorCode(await Self.send(service, .truncate(Truncate(sequenceID: 77, length: 0)))) == .unknownSequence
        )
        #expect(
            Self.errorCode(await Self.send(service, .truncate(Truncate(sequenceID: opened.sequenceID, length: 5))))
                == .badRequest
        )
        let wrongStart = try await Self.prefill(service, id: opened.sequenceID, start: 1, rows: 2, random: &random)
        #expect(wrongStart.map(Self.errorCode) == [.badRequest, .badRequest])
        #expect(Self.errorCode(await Self.send(service, .drain(Drain(workerID: 4)))) == .badRequest)
        #expect(
            Self.errorCode(
                await Self.send(
                    service,
                    .heartbeat(
                        Heartbeat(workerID: 1, liveSequences: 0, freePages: 0, cachedPages: 0, lastEventSequence: 0)
                    )
                )
            ) == .badRequest
        )
        // 2 pages of 4 tokens: 9 tokens do not fit.
        let tooLong = try await Self.prefill(service, id: opened.sequenceID, start: 0, rows: 9, random: &random)
        #expect(tooLong.map(Self.errorCode) == [.capacity, .capacity])
        let fits = try await Self.prefill(service, id: opened.sequenceID, start: 0, rows: 8, random: &random)
        #expect(fits.map(Self.errorCode) == [nil, nil])
        #expect(Self.errorCode(await Self.send(service, .drain(Drain(workerID: 3)))) == nil)
        #expect(
            Self.errorCode(
                await Self.send(
                    service,
                    .openSequence(OpenSequence(sequenceID: 0, namespace: "", shardStart: 0, tokens: [1]))
                )
            ) == .unavailable
        )
    }

    @Test("a decode step that does not fit appends nothing to any of its sequences")
    func decodeCapacity() async throws {
        let service = try Self.service(pages: 3)
        var random = SplitMix64(seed: 9)
        var ids: [UInt64] = []
        for length in [4, 8] {
            let opened = try await Self.open(service, (0..<UInt32(length)).map { $0 + 100 })
            _ = try await Self.prefill(service, id: opened.sequenceID, start: 0, rows: length, random: &random)
            ids.append(opened.sequenceID)
        }
        // Both sequences fill their pages: the step needs 2 new pages and none is free.
        let step = try Decode(
            layer: 0,
            entries: ids.map { Decode.Entry(sequenceID: $0, queryTokens: 1) },
            input: AttentionInput(
                q: WireTensor(f32: random.floats(2 * 32, in: -4..<4), shape: [2, 4, 8]),
                k: WireTensor(f32: random.floats(2 * 16, in: -4..<4), shape: [2, 2, 8]),
                v: WireTensor(f32: random.floats(2 * 16, in: -4..<4), shape: [2, 2, 8])
            )
        )
        #expect(Self.errorCode(await Self.send(service, .decode(step))) == .capacity)
        #expect(
            Self.errorCode(await Self.send(service, .truncate(Truncate(sequenceID: ids[0], length: 5)))) == .badRequest
        )
        #expect(Self.errorCode(await Self.send(service, .truncate(Truncate(sequenceID: ids[0], length: 4)))) == nil)
        _ = await Self.send(service, .closeSequence(CloseSequence(sequenceID: ids[1], commit: false)))
        #expect(
            Self.errorCode(
                await Self.send(
                    service,
                    .decode(
                        try Decode(
                            layer: 0,
                            entries: [Decode.Entry(sequenceID: ids[0], queryTokens: 1)],
                            input: AttentionInput(
                                q: WireTensor(f32: random.floats(32, in: -4..<4), shape: [1, 4, 8]),
                                k: WireTensor(f32: random.floats(16, in: -4..<4), shape: [1, 2, 8]),
                                v: WireTensor(f32: random.floats(16, in: -4..<4), shape: [1, 2, 8])
                            )
                        )
                    )
                )
            ) == nil
        )
    }

    @Test("a store worker refuses compute requests and keeps pages")
    func storeRole() async throws {
        let service = try Self.service(role: .store)
        #expect(
            Self.errorCode(
                await Self.send(
                    service,
                    .openSequence(OpenSequence(sequenceID: 0, namespace: "", shardStart: 0, tokens: [1]))
                )
            ) == .badRequest
        )
        let layout = try PageLayout(layers: 2, pageSize: 4, kvHeads: 2, headDim: 8, storage: .f32)
        var random = SplitMix64(seed: 3)
        let raw = try RawPage(layout: layout, values: random.floats(layout.elementCount, in: -4..<4))
        let key = try testKey(1)
        var encoded = PageCodec().encode(raw)
        let put = await Self.send(service, .pagePut(PagePut(pages: [EncodedPage(key: key, bytes: encoded)])))
        #expect(Self.errorCode(put) == nil)
        #expect(put.events.map(\.keys) == [[key]])
        encoded[32] ^= 0xFF
        #expect(
            Self.errorCode(
                await Self.send(service, .pagePut(PagePut(pages: [EncodedPage(key: try testKey(2), bytes: encoded)])))
            ) == .checksum
        )
        let get = await Self.send(service, .pageGet(PageGet(keys: [try testKey(2), key])))
        guard case .pageGetReply(let body)? = get.reply?.message else { throw ServiceError.internal("no get reply") }
        #expect(try body.pages.map { try PageCodec().decode($0.bytes) } == [raw])
    }

    @Test(
        "evicted prefix pages go to the lower tiers and come back on a prompt hit: tier events, no key enters or leaves"
    )
    func tiers() async throws {
        let tiers = DictionaryTiers()
        let service = try Self.service(pages: 3, tiers: tiers)
        var random = SplitMix64(seed: 4)
        let prompt = (0..<8).map { UInt32($0 + 50) }
        let first = try await Self.open(service, prompt)
        _ = try await Self.prefill(service, id: first.sequenceID, start: 0, rows: 8, random: &random)
        let committed = await Self.send(
            service,
            .closeSequence(CloseSequence(sequenceID: first.sequenceID, commit: true))
        )
        #expect(committed.events.compactMap(\.cacheEvent).map(\.kind) == [.stored])
        // Another sequence needs all 3 pages: the 2 cached ones are demoted, which is a tier event
        // (the keys stay held), not a removal.
        let other = try await Self.open(service, [9, 9])
        let filled = try await Self.prefill(service, id: other.sequenceID, start: 0, rows: 12, random: &random)
        #expect(filled.allSatisfy { Self.errorCode($0) == nil })
        let demotions = filled.flatMap(\.events)
        #expect(
            demotions.allSatisfy { if case .tier(let event) = $0 { event.tier == .compressedMemory } else { false } }
        )
        #expect(demotions.flatMap(\.keys).count == 2)
        #expect(await tiers.keys().count == 2)
        _ = await Self.send(service, .closeSequence(CloseSequence(sequenceID: other.sequenceID, commit: false)))
        let again = try await Self.open(service, prompt)
        #expect(again.cachedTokens == 8)
        #expect(await tiers.keys().isEmpty)
        let contains = await Self.send(
            service,
            .pageContains(
                PageContains(
                    keys: PrefixKey.chain(
                        namespace: "ns",
                        fingerprint: (try Self.spec().fingerprint),
                        tokens: prompt,
                        pageSize: 4
                    )
                )
            )
        )
        #expect(contains.reply?.message == .pageContainsReply(PageContainsReply(present: [true, true])))

        // Demoted again, then removed by request from the lower tier: that is a removed event.
        _ = await Self.send(service, .closeSequence(CloseSequence(sequenceID: again.sequenceID, commit: false)))
        let third = try await Self.open(service, [7, 7])
        _ = try await Self.prefill(service, id: third.sequenceID, start: 0, rows: 12, random: &random)
        #expect(await tiers.keys().count == 2)
        let firstKey = PrefixKey.chain(
            namespace: "ns",
            fingerprint: (try Self.spec().fingerprint),
            tokens: prompt,
            pageSize: 4
        )[0]
        let removed = await Self.send(service, .pageRemove(PageRemove(keys: [firstKey])))
        #expect(removed.events.compactMap(\.cacheEvent).map(\.kind) == [.removed])
        #expect(removed.events.map(\.keys) == [[firstKey]])
        #expect(await tiers.keys().count == 1)
    }

    @Test("PrefetchPages brings demoted pages back hot ahead of the prompt, without events; unknown keys stay cold")
    func prefetch() async throws {
        let tiers = DictionaryTiers()
        let service = try Self.service(pages: 3, tiers: tiers)
        var random = SplitMix64(seed: 5)
        let prompt = (0..<8).map { UInt32($0 + 70) }
        let keys = PrefixKey.chain(
            namespace: "ns",
            fingerprint: try Self.spec().fingerprint,
            tokens: prompt,
            pageSize: 4
        )
        let first = try await Self.open(service, prompt)
        _ = try await Self.prefill(service, id: first.sequenceID, start: 0, rows: 8, random: &random)
        _ = await Self.send(service, .closeSequence(CloseSequence(sequenceID: first.sequenceID, commit: true)))
        let other = try await Self.open(service, [9, 9])
        _ = try await Self.prefill(service, id: other.sequenceID, start: 0, rows: 12, random: &random)
        _ = await Self.send(service, .closeSequence(CloseSequence(sequenceID: other.sequenceID, commit: false)))
        #expect(Set(await tiers.keys()) == Set(keys))

        let unknown = PrefixKey.chain(
            namespace: "elsewhere",
            fingerprint: try Self.spec().fingerprint,
            tokens: prompt,
            pageSize: 4
        )[0]
        let reply = await Self.send(service, .prefetchPages(PrefetchPages(keys: keys + [unknown])))
        #expect(reply.reply?.message == .prefetchPagesReply(PrefetchPagesReply(hot: [true, true, false])))
        #expect(reply.events.compactMap(\.cacheEvent).isEmpty)
        #expect(await tiers.keys().isEmpty)
        let again = try await Self.open(service, prompt)
        #expect(again.cachedTokens == 8)

        let store = try Self.service(role: .store)
        #expect(Self.errorCode(await Self.send(store, .prefetchPages(PrefetchPages(keys: keys)))) == .badRequest)
    }

    @Test("PullPages fetches from the named peer; an unreachable peer is unavailable")
    func pull() async throws {
        let layout = try PageLayout(layers: 2, pageSize: 4, kvHeads: 2, headDim: 8, storage: .f32)
        var random = SplitMix64(seed: 6)
        let page = EncodedPage(
            key: try testKey(5),
            bytes: PageCodec().encode(
                try RawPage(layout: layout, values: random.floats(layout.elementCount, in: -4..<4))
            )
        )
        let service = try Self.service(peers: StaticPeers(pages: [page.key: page]))
        let pulled = await Self.send(
            service,
            .pullPages(PullPages(peerEndpoint: "tcp://peer:1", keys: [page.key, try testKey(6)]))
        )
        #expect(pulled.reply?.message == .pullPagesReply(PullPagesReply(pulled: [true, false])))
        #expect(
            Self.errorCode(
                await Self.send(service, .pullPages(PullPages(peerEndpoint: "tcp://nowhere:1", keys: [try testKey(7)])))
            ) == .unavailable
        )
    }

    @Test("a batched decode with entries of different query counts matches one call per sequence")
    func mixedDecode() async throws {
        let service = try Self.service()
        var random = SplitMix64(seed: 8)
        var ids: [UInt64] = []
        for length in [3, 6, 5] {
            let opened = try await Self.open(service, (0..<UInt32(length)).map { $0 })
            _ = try await Self.prefill(service, id: opened.sequenceID, start: 0, rows: length, random: &random)
            ids.append(opened.sequenceID)
        }
        let counts: [UInt32] = [1, 3, 1]
        let q = random.floats(5 * 4 * 8, in: -4..<4)
        let batched = await Self.send(
            service,
            .decode(
                try Decode(
                    layer: 1,
                    entries: zip(ids, counts).map { Decode.Entry(sequenceID: $0, queryTokens: $1) },
                    input: AttentionInput(q: WireTensor(f32: q, shape: [5, 4, 8]), k: nil, v: nil)
                )
            )
        )
        guard case .decodeReply(let all)? = batched.reply?.message else {
            throw ServiceError.internal("no decode reply")
        }
        var row = 0
        var singles: [Float] = []
        for (id, count) in zip(ids, counts) {
            let n = Int(count)
            let one = await Self.send(
                service,
                .decode(
                    try Decode(
                        layer: 1,
                        entries: [Decode.Entry(sequenceID: id, queryTokens: count)],
                        input: AttentionInput(
                            q: WireTensor(f32: Array(q[row * 32..<(row + n) * 32]), shape: [n, 4, 8]),
                            k: nil,
                            v: nil
                        )
                    )
                )
            )
            guard case .decodeReply(let single)? = one.reply?.message else {
                throw ServiceError.internal("no decode reply")
            }
            singles += try single.result.output.f32Values()
            row += n
        }
        #expect(try all.result.output.f32Values() == singles)
        let duplicate = await Self.send(
            service,
            .decode(
                try Decode(
                    layer: 0,
                    entries: [
                        Decode.Entry(sequenceID: ids[0], queryTokens: 1),
                        Decode.Entry(sequenceID: ids[0], queryTokens: 1),
                    ],
                    input: AttentionInput(q: WireTensor(f32: Array(q[0..<64]), shape: [2, 4, 8]), k: nil, v: nil)
                )
            )
        )
        #expect(Self.errorCode(duplicate) == .badRequest)
    }

    @Test("a truncate with layers of different lengths is bounded by the shortest and cuts every layer to it")
    func truncateUnevenLayers() async throws {
        let service = try Self.service()
        var random = SplitMix64(seed: 31)
        let id = try await Self.open(service, Array(0..<12)).sequenceID
        /// Prefills `rows` rows of `layer` from `start`; the error code, nil on success.
        func prefill(layer: UInt32, start: Int, rows: Int) async throws -> ErrorCode? {
            let input = try AttentionInput(
                q: WireTensor(f32: random.floats(rows * 32, in: -4..<4), shape: [rows, 4, 8]),
                k: WireTensor(f32: random.floats(rows * 16, in: -4..<4), shape: [rows, 2, 8]),
                v: WireTensor(f32: random.floats(rows * 16, in: -4..<4), shape: [rows, 2, 8])
            )
            return Self.errorCode(
                await Self.send(
                    service,
                    .prefill(try Prefill(sequenceID: id, layer: layer, startPosition: UInt32(start), input: input))
                )
            )
        }
        #expect(try await prefill(layer: 0, start: 0, rows: 10) == nil)
        #expect(try await prefill(layer: 1, start: 0, rows: 6) == nil)
        #expect(Self.errorCode(await Self.send(service, .truncate(Truncate(sequenceID: id, length: 7)))) == .badRequest)
        #expect(Self.errorCode(await Self.send(service, .truncate(Truncate(sequenceID: id, length: 5)))) == nil)
        // Both layers now hold 5 tokens.
        #expect(try await prefill(layer: 0, start: 5, rows: 1) == nil)
        #expect(try await prefill(layer: 1, start: 5, rows: 1) == nil)
    }

    @Test("a commit stores the prompt's full pages that every layer holds, never the decoded tokens")
    func commitStoresPromptPages() async throws {
        let service = try Self.service()
        var random = SplitMix64(seed: 32)
        let tokens = (0..<6).map { UInt32($0 + 50) }
        let id = try await Self.open(service, tokens).sequenceID
        _ = try await Self.prefill(service, id: id, start: 0, rows: 6, random: &random)
        // Tokens past the prompt (as decode steps append them) fill a second and a third page: no keys.
        _ = try await Self.prefill(service, id: id, start: 6, rows: 6, random: &random)
        let closed = await Self.send(service, .closeSequence(CloseSequence(sequenceID: id, commit: true)))
        let keys = PrefixKey.chain(
            namespace: "ns",
            fingerprint: try Self.spec().fingerprint,
            tokens: tokens,
            pageSize: 4
        )
        #expect(keys.count == 1)
        #expect(closed.events.flatMap(\.keys) == keys)
    }

    @Test(
        "a key repeated in one PagePut is stored from its first page; an int8 page with a bad scale refuses the whole put"
    )
    func putRepeatedAndBadPages() async throws {
        let service = try Self.service()
        let spec = try Self.spec()
        let layout = try PageLayout(
            layers: spec.layers,
            pageSize: spec.pageSize,
            kvHeads: spec.kvHeads,
            headDim: spec.headDim,
            storage: spec.kvStorage
        )
        var random = SplitMix64(seed: 33)
        let first = try RawPage(layout: layout, values: random.floats(layout.elementCount, in: -4..<4))
        let second = try RawPage(layout: layout, values: random.floats(layout.elementCount, in: -4..<4))
        let key = tierKey(90)
        let codec = PageCodec()
        let put = await Self.send(
            service,
            .pagePut(
                PagePut(pages: [
                    EncodedPage(key: key, bytes: codec.encode(first)),
                    EncodedPage(key: key, bytes: codec.encode(second)),
                ])
            )
        )
        #expect(Self.errorCode(put) == nil)
        let got = await Self.send(service, .pageGet(PageGet(keys: [key])))
        guard case .pageGetReply(let body)? = got.reply?.message else { throw ServiceError.internal("no page reply") }
        #expect(try body.pages.map { try codec.decode($0.bytes) } == [first])

        let int8Service = try WorkerService(
            spec: ModelSpec(parsing: "name=svc,layers=2,q-heads=4,kv-heads=2,head-dim=8,kv=int8,page=4"),
            role: .compute,
            workerID: 3,
            pageCount: 8,
            tiers: NoLowerTiers(),
            peers: StaticPeers(),
            threads: 1,
            logger: Logger(label: "test")
        )
        let int8Layout = try PageLayout(layers: 2, pageSize: 4, kvHeads: 2, headDim: 8, storage: .int8)
        let good = try RawPage(layout: int8Layout, values: random.floats(int8Layout.elementCount, in: -4..<4))
        var badBytes = good.bytes
        let scaleOffset = badBytes.count - 4
        withUnsafeBytes(of: Float(-1).bitPattern.littleEndian) {
            badBytes.replaceSubrange(scaleOffset..<scaleOffset + 4, with: $0)
        }
        let bad = try RawPage(layout: int8Layout, bytes: badBytes)
        let refused = await Self.send(
            int8Service,
            .pagePut(
                PagePut(pages: [
                    EncodedPage(key: tierKey(91), bytes: codec.encode(good)),
                    EncodedPage(key: tierKey(92), bytes: codec.encode(bad)),
                ])
            )
        )
        #expect(Self.errorCode(refused) == .badRequest)
        let present = await Self.send(int8Service, .pageContains(PageContains(keys: [tierKey(91), tierKey(92)])))
        #expect(present.reply?.message == .pageContainsReply(PageContainsReply(present: [false, false])))
    }

    @Test("a PagePut of a key that lives on disk takes the page hot and keeps the file as its durable copy")
    func putKeepsDiskCopy() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = CapturedLog()
        let tiers = PageTiers(
            compressed: nil,
            disk: try DiskTier(directory: directory, capacity: 1 << 20, logger: log.logger),
            remote: nil,
            logger: log.logger
        )
        let service = try Self.service(pages: 1, tiers: tiers)
        let spec = try Self.spec()
        let layout = try PageLayout(
            layers: spec.layers,
            pageSize: spec.pageSize,
            kvHeads: spec.kvHeads,
            headDim: spec.headDim,
            storage: spec.kvStorage
        )
        var random = SplitMix64(seed: 34)
        let raws = try (0..<2).map { _ in
            try RawPage(layout: layout, values: random.floats(layout.elementCount, in: -4..<4))
        }
        let pages = zip([tierKey(40), tierKey(41)], raws).map { EncodedPage(key: $0, bytes: PageCodec().encode($1)) }
        let file = directory + "/" + tierKey(40).hex + DiskTier.pageSuffix

        #expect(Self.errorCode(await Self.send(service, .pagePut(PagePut(pages: [pages[0]])))) == nil)
        #expect(Self.errorCode(await Self.send(service, .pagePut(PagePut(pages: [pages[1]])))) == nil)
        // One hot page: the first key now lives on disk.
        #expect(await tiers.contains(key: tierKey(40)))
        #expect(FileManager.default.fileExists(atPath: file))

        let again = await Self.send(service, .pagePut(PagePut(pages: [pages[0]])))
        #expect(Self.errorCode(again) == nil)
        // Tier moves only (the other key down, this one hot); no key entered or left.
        #expect(again.events.compactMap(\.cacheEvent).isEmpty)
        #expect(
            again.events.contains {
                if case .tier(let event) = $0 { event.tier == .hot && event.keys == [tierKey(40)] } else { false }
            }
        )
        // Hot again, and its file stays as the durable copy: nothing to write at exit.
        #expect(await !tiers.contains(key: tierKey(40)))
        #expect(await !tiers.needsDurableCopy(key: tierKey(40)))
        #expect(FileManager.default.fileExists(atPath: file))
        let got = await Self.send(service, .pageGet(PageGet(keys: [tierKey(40)])))
        guard case .pageGetReply(let body)? = got.reply?.message else { throw ServiceError.internal("no page reply") }
        #expect(try body.pages.map { try PageCodec().decode($0.bytes) } == [raws[0]])
    }

    @Test(
        "a PullPages waiting on its peer holds up no other request, and events are numbered in the order of their changes"
    )
    func pullBesideOthers() async throws {
        let layout = try PageLayout(layers: 2, pageSize: 4, kvHeads: 2, headDim: 8, storage: .f32)
        var random = SplitMix64(seed: 35)
        let page = EncodedPage(
            key: try testKey(50),
            bytes: PageCodec().encode(
                try RawPage(layout: layout, values: random.floats(layout.elementCount, in: -4..<4))
            )
        )
        let peers = GatedPeers(pages: [page.key: page])
        let service = try Self.service(peers: peers)
        let published = Mutex<[NumberedCacheEvent]>([])
        service.publishEvents(to: { events in published.withLock { $0 += events } })
        async let pull = Self.send(
            service,
            .pullPages(PullPages(peerEndpoint: "tcp://127.0.0.1:9", keys: [page.key])),
            id: 70
        )
        await peers.waitForFetch()

        // While the pull waits, a sequence is opened, prefilled and committed.
        let tokens = (0..<4).map { UInt32($0 + 900) }
        let opened = try await Self.open(service, tokens)
        let filled = try await Self.prefill(service, id: opened.sequenceID, start: 0, rows: 4, random: &random)
        #expect(filled.allSatisfy { Self.errorCode($0) == nil })
        let closed = await Self.send(
            service,
            .closeSequence(CloseSequence(sequenceID: opened.sequenceID, commit: true))
        )
        let keys = PrefixKey.chain(
            namespace: "ns",
            fingerprint: try Self.spec().fingerprint,
            tokens: tokens,
            pageSize: 4
        )
        #expect(closed.events == [.held(CacheEvent(workerID: 3, eventSequence: 1, kind: .stored, keys: keys))])
        #expect(closed.closedLastSequence)

        await peers.open()
        let pulled = await pull
        #expect(pulled.reply == Envelope(requestID: 70, message: .pullPagesReply(PullPagesReply(pulled: [true]))))
        #expect(pulled.events == [.held(CacheEvent(workerID: 3, eventSequence: 2, kind: .stored, keys: [page.key]))])
        // The sink got every event once, in number order.
        #expect(published.withLock { $0 } == closed.events + pulled.events)
    }
}

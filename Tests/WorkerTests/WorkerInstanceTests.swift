import CacheProtocol
import Kernels
import Testing

@testable import Worker

/// The worker's request path as a state machine: requests and the answers a shell would bring back
/// go in, directives come out. No sockets, no tiers, no tasks.
@Suite("WorkerInstance")
struct WorkerInstanceTests {
    static func spec() throws -> ModelSpec {
        try ModelSpec(parsing: "name=inst,layers=2,q-heads=4,kv-heads=2,head-dim=8,kv=f32,page=4")
    }

    static func instance(pages: Int = 16, role: WorkerRole = .compute) throws -> WorkerInstance {
        try WorkerInstance(spec: spec(), role: role, workerID: 7, pageCount: pages, threads: 1)
    }

    static func keys(_ tokens: [UInt32], namespace: String = "ns") throws -> [PrefixKey] {
        PrefixKey.chain(namespace: namespace, fingerprint: try spec().fingerprint, tokens: tokens, pageSize: 4)
    }

    // MARK: Reading directives

    static func replies(_ directives: [WorkerDirective]) -> [Envelope] {
        directives.compactMap { if case .reply(let envelope) = $0 { envelope } else { nil } }
    }

    /// The keys-entered-or-left events `directives` publish (tier moves left out).
    static func events(_ directives: [WorkerDirective]) -> [CacheEvent] {
        numberedEvents(directives).compactMap(\.cacheEvent)
    }

    /// Every event `directives` publish, tier moves included.
    static func numberedEvents(_ directives: [WorkerDirective]) -> [NumberedCacheEvent] {
        directives.flatMap { directive -> [NumberedCacheEvent] in
            if case .publish(let events) = directive { events } else { [] }
        }
    }

    static func demotions(_ directives: [WorkerDirective]) -> [(key: PrefixKey, page: RawPage)] {
        directives.compactMap { if case let .demote(key, page) = $0 { (key, page) } else { nil } }
    }

    static func jobs(_ directives: [WorkerDirective]) -> [AttentionJob] {
        directives.compactMap { if case .runAttention(let job) = $0 { job } else { nil } }
    }

    static func errorCode(_ directives: [WorkerDirective]) -> ErrorCode? {
        guard case .errorReply(let error)? = replies(directives).last?.message else { return nil }
        return error.code
    }

    // MARK: Driving the instance

    /// Opens `tokens` (no page below the hot pool, so the answer comes at once); the sequence id.
    static func open(_ instance: inout WorkerInstance, _ tokens: [UInt32], id: UInt64 = 1) throws -> OpenSequenceReply {
        let directives = instance.handle(
            Envelope(
                requestID: id,
                message: .openSequence(OpenSequence(sequenceID: 0, namespace: "ns", shardStart: 0, tokens: tokens))
            )
        )
        guard case .openSequenceReply(let body)? = replies(directives).first?.message else {
            throw ServiceError.internal("no open reply in \(directives)")
        }
        return body
    }

    /// A prefill of `rows` random tokens into `layer` from `start`.
    static func prefill(
        _ sequence: UInt64,
        layer: UInt32,
        start: Int,
        rows: Int,
        random: inout SplitMix64,
        poison: Float? = nil
    ) throws -> Message {
        var q = random.floats(rows * 32, in: -4..<4)
        if let poison { q[q.count - 1] = poison }
        let input = try AttentionInput(
            q: WireTensor(f32: q, shape: [rows, 4, 8]),
            k: WireTensor(f32: random.floats(rows * 16, in: -4..<4), shape: [rows, 2, 8]),
            v: WireTensor(f32: random.floats(rows * 16, in: -4..<4), shape: [rows, 2, 8])
        )
        return .prefill(try Prefill(sequenceID: sequence, layer: layer, startPosition: UInt32(start), input: input))
    }

    /// Prefills `rows` tokens into every layer, running each job as the shell would; every
    /// directive returned on the way.
    static func fill(
        _ instance: inout WorkerInstance,
        _ sequence: UInt64,
        start: Int = 0,
        rows: Int,
        random: inout SplitMix64
    ) throws -> [WorkerDirective] {
        var all: [WorkerDirective] = []
        for layer in 0..<UInt32(2) {
            let directives = instance.handle(
                Envelope(
                    requestID: 100 + UInt64(layer),
                    message: try prefill(sequence, layer: layer, start: start, rows: rows, random: &random)
                )
            )
            all += directives
            for job in jobs(directives) {
                all += instance.attentionFinished(job, AttentionRunner.compute(job.calls))
            }
        }
        return all
    }

    static func close(_ instance: inout WorkerInstance, _ sequence: UInt64, commit: Bool) -> [WorkerDirective] {
        instance.handle(
            Envelope(requestID: 9, message: .closeSequence(CloseSequence(sequenceID: sequence, commit: commit)))
        )
    }

    // MARK: Tests

    @Test(
        "an open whose prompt pages lie below the hot pool asks the lower tiers for them, then maps what they give back"
    )
    func openWithColdPrefix() throws {
        var instance = try Self.instance(pages: 3)
        var random = SplitMix64(seed: 1)
        let prompt = (0..<8).map { UInt32($0 + 40) }
        let keys = try Self.keys(prompt)
        let first = try Self.open(&instance, prompt)
        _ = try Self.fill(&instance, first.sequenceID, rows: 8, random: &random)
        _ = Self.close(&instance, first.sequenceID, commit: true)
        // A sequence that needs all 3 pages pushes both prompt pages below the hot pool.
        let other = try Self.open(&instance, [9, 9])
        let filled = try Self.fill(&instance, other.sequenceID, rows: 12, random: &random)
        let demoted = Self.demotions(filled)
        #expect(demoted.map(\.key) == keys)
        #expect(Self.events(filled).isEmpty)
        _ = Self.close(&instance, other.sequenceID, commit: false)

        let asked = instance.handle(
            Envelope(
                requestID: 5,
                message: .openSequence(
                    OpenSequence(sequenceID: 0, namespace: "ns", shardStart: 0, tokens: prompt + [1])
                )
            )
        )
        guard case let .fetchFromLowerTiers(wanted, pending)? = asked.last else {
            throw ServiceError.internal("no fetch in \(asked)")
        }
        #expect(wanted == keys)
        #expect(Self.replies(asked).isEmpty)
        #expect(instance.liveSequenceCount == 0)

        let pages = Dictionary(uniqueKeysWithValues: demoted.map { ($0.key, $0.page) })
        let answered = instance.resume(pending, with: .lowerTierPages(pages))
        guard case .openSequenceReply(let body)? = Self.replies(answered).first?.message else {
            throw ServiceError.internal("no open reply in \(answered)")
        }
        #expect(Self.replies(answered).first?.requestID == 5)
        #expect(body.cachedTokens == 8)
        #expect(Self.events(answered).isEmpty)
        #expect(instance.liveSequenceCount == 1)
        for (key, page) in pages { #expect(try instance.manager.cachedPage(key: key) == page.bytes) }
    }

    @Test("an open whose prompt has no page anywhere answers at once, without asking the tiers")
    func openWithoutPrefix() throws {
        var instance = try Self.instance()
        let directives = instance.handle(
            Envelope(
                requestID: 3,
                message: .openSequence(
                    OpenSequence(sequenceID: 0, namespace: "ns", shardStart: 0, tokens: Array(0..<9))
                )
            )
        )
        #expect(
            directives == [
                .reply(
                    Envelope(
                        requestID: 3,
                        message: .openSequenceReply(OpenSequenceReply(sequenceID: 1, cachedTokens: 0))
                    )
                )
            ]
        )
    }

    @Test(
        "a lower-tier page that is not given back leaves the worker: the open maps only what came, and a removed event says so"
    )
    func openWithLostPage() throws {
        var instance = try Self.instance(pages: 3)
        var random = SplitMix64(seed: 2)
        let prompt = (0..<8).map { UInt32($0 + 60) }
        let keys = try Self.keys(prompt)
        let first = try Self.open(&instance, prompt)
        _ = try Self.fill(&instance, first.sequenceID, rows: 8, random: &random)
        let stored = Self.close(&instance, first.sequenceID, commit: true)
        #expect(Self.events(stored) == [CacheEvent(workerID: 7, eventSequence: 1, kind: .stored, keys: keys)])
        let other = try Self.open(&instance, [9, 9])
        let demoted = Self.demotions(try Self.fill(&instance, other.sequenceID, rows: 12, random: &random))
        _ = Self.close(&instance, other.sequenceID, commit: false)

        let asked = instance.handle(
            Envelope(
                requestID: 6,
                message: .openSequence(OpenSequence(sequenceID: 0, namespace: "ns", shardStart: 0, tokens: prompt))
            )
        )
        guard case let .fetchFromLowerTiers(_, pending)? = asked.last else { throw ServiceError.internal("no fetch") }
        // The tiers give back the first page only.
        let answered = instance.resume(pending, with: .lowerTierPages([keys[0]: try #require(demoted.first).page]))
        guard case .openSequenceReply(let body)? = Self.replies(answered).first?.message else {
            throw ServiceError.internal("no reply")
        }
        #expect(body.cachedTokens == 4)
        // Event 2 was both pages' demotion; the page that did not come back leaves as event 3.
        #expect(Self.events(answered) == [CacheEvent(workerID: 7, eventSequence: 3, kind: .removed, keys: [keys[1]])])
    }

    @Test("a prefill appends its tokens and returns an attention job; its outcome makes the reply and is counted")
    func prefillJob() throws {
        var instance = try Self.instance()
        var random = SplitMix64(seed: 3)
        let opened = try Self.open(&instance, Array(0..<6))
        let directives = instance.handle(
            Envelope(
                requestID: 42,
                message: try Self.prefill(opened.sequenceID, layer: 1, start: 0, rows: 6, random: &random)
            )
        )
        let job = try #require(Self.jobs(directives).first)
        #expect(Self.replies(directives).isEmpty)
        #expect(job.requestID == 42)
        #expect(job.answer == .prefill(sequenceID: opened.sequenceID, layer: 1))
        #expect(job.rows == 6)
        let call = try #require(job.calls.first)
        #expect(job.calls.count == 1)
        #expect(call.kvLengths == [6])
        #expect(call.options.causal)
        #expect(call.sequenceIDs == [opened.sequenceID])
        let state = try instance.manager.sequence(SequenceID(rawValue: opened.sequenceID))
        #expect(state.layerLengths == [0, 6])
        #expect(call.blockTables == [state.pages])

        let result = AttentionRunner.compute(job.calls)
        guard case .computed(let results) = result else { throw ServiceError.internal("kernel refused: \(result)") }
        let answered = instance.attentionFinished(job, result)
        guard case .prefillReply(let reply)? = Self.replies(answered).first?.message else {
            throw ServiceError.internal("no reply")
        }
        #expect(Self.replies(answered).first?.requestID == 42)
        #expect(try reply.result.output.f32Values() == results[0].output)
        #expect(instance.statistics().first { $0.name == "prefill_tokens" }?.value == 6)

        // A kernel refusal answers badRequest naming the sequence, and counts an error.
        let refused = instance.attentionFinished(
            job,
            .refused(call: 0, .kvLengthTooShort(sequence: 0, kvLength: 1, queryLength: 6))
        )
        #expect(Self.errorCode(refused) == .badRequest)
        guard case .errorReply(let error)? = Self.replies(refused).first?.message else {
            throw ServiceError.internal("no refusal")
        }
        #expect(
            error.message.hasPrefix(
                "prefill of sequence \(opened.sequenceID): sequence \(opened.sequenceID): attention:"
            )
        )
        #expect(instance.statistics().first { $0.name == "errors" }?.value == 1)
    }

    @Test(
        "a batched decode makes one kernel call per query-token count, each placing its rows where they lie in the request"
    )
    func decodeJob() throws {
        var instance = try Self.instance()
        var random = SplitMix64(seed: 4)
        var ids: [UInt64] = []
        for length in [5, 7, 9] {
            let opened = try Self.open(&instance, (0..<UInt32(length)).map { $0 + 200 * UInt32(length) })
            _ = try Self.fill(&instance, opened.sequenceID, rows: length, random: &random)
            ids.append(opened.sequenceID)
        }
        let counts: [UInt32] = [2, 1, 2]
        let step = try Decode(
            layer: 0,
            entries: zip(ids, counts).map { Decode.Entry(sequenceID: $0, queryTokens: $1) },
            input: AttentionInput(
                q: WireTensor(f32: random.floats(5 * 32, in: -4..<4), shape: [5, 4, 8]),
                k: nil,
                v: nil
            )
        )
        let job = try #require(Self.jobs(instance.handle(Envelope(requestID: 8, message: .decode(step)))).first)
        #expect(job.calls.map(\.queryLength) == [1, 2])
        #expect(job.calls.map(\.sequenceIDs) == [[ids[1]], [ids[0], ids[2]]])
        #expect(job.calls.map(\.firstRows) == [[2], [0, 3]])
        #expect(job.calls.map(\.kvLengths) == [[7], [5, 9]])
        #expect(job.calls.allSatisfy { !$0.options.causal })
        let answered = instance.attentionFinished(job, AttentionRunner.compute(job.calls))
        guard case .decodeReply(let reply)? = Self.replies(answered).first?.message else {
            throw ServiceError.internal("no reply")
        }
        #expect(reply.result.output.shape == [5, 4, 8])
    }

    @Test("closing sequences with commit publishes stored events numbered 1, 2, … in the order of the closes")
    func commitEvents() throws {
        var instance = try Self.instance()
        var random = SplitMix64(seed: 5)
        var expected: [CacheEvent] = []
        for (number, base) in [UInt32(100), 200, 300].enumerated() {
            let prompt = (0..<8).map { $0 + base }
            let opened = try Self.open(&instance, prompt)
            #expect(Self.events(try Self.fill(&instance, opened.sequenceID, rows: 8, random: &random)).isEmpty)
            let closed = Self.close(&instance, opened.sequenceID, commit: true)
            let event = CacheEvent(
                workerID: 7,
                eventSequence: UInt64(number + 1),
                kind: .stored,
                keys: try Self.keys(prompt)
            )
            #expect(Self.events(closed) == [event])
            #expect(Self.replies(closed) == [Envelope(requestID: 9, message: .ack(Ack()))])
            expected.append(event)
        }
        #expect(instance.lastEvent == 3)
        let snapshot = instance.handle(Envelope(requestID: 2, message: .snapshotRequest(SnapshotRequest())))
        guard case .tierSnapshotReply(let body)? = Self.replies(snapshot).first?.message else {
            throw ServiceError.internal("no snapshot")
        }
        #expect(body.tiers == [CacheTier](repeating: .hot, count: body.keys.count))
        #expect(body.eventSequence == 3)
        #expect(Set(body.keys) == Set(expected.flatMap(\.keys)))
    }

    @Test("a sealed shard takes no new tokens and is listed sealed; a truncation makes it the tail again")
    func sealedShard() throws {
        var instance = try Self.instance()
        var random = SplitMix64(seed: 9)
        let opened = instance.handle(
            Envelope(
                requestID: 1,
                message: .openSequence(
                    OpenSequence(sequenceID: 41, namespace: "ns", shardStart: 0, tokens: Array(50..<56))
                )
            )
        )
        #expect(Self.errorCode(opened) == nil)
        _ = try Self.fill(&instance, 41, rows: 6, random: &random)
        // A seal below what the shard holds is refused.
        let early = instance.handle(Envelope(requestID: 2, message: .sealShard(SealShard(sequenceID: 41, end: 5))))
        #expect(Self.errorCode(early) == .badRequest)
        #expect(
            Self.replies(
                instance.handle(Envelope(requestID: 3, message: .sealShard(SealShard(sequenceID: 41, end: 6))))
            ) == [
                Envelope(requestID: 3, message: .ack(Ack()))
            ]
        )
        let refused = instance.handle(
            Envelope(requestID: 4, message: try Self.prefill(41, layer: 0, start: 6, rows: 1, random: &random))
        )
        #expect(Self.errorCode(refused) == .badRequest)
        #expect(instance.shardList().shards.map(\.sealed) == [true])
        let unknown = instance.handle(Envelope(requestID: 5, message: .sealShard(SealShard(sequenceID: 99, end: 6))))
        #expect(Self.errorCode(unknown) == .unknownSequence)
        // Truncated, it is the tail again.
        #expect(
            Self.replies(
                instance.handle(Envelope(requestID: 6, message: .truncate(Truncate(sequenceID: 41, length: 4))))
            ) == [
                Envelope(requestID: 6, message: .ack(Ack()))
            ]
        )
        #expect(instance.shardList().shards.map(\.sealed) == [false])
        let taken = instance.handle(
            Envelope(requestID: 7, message: try Self.prefill(41, layer: 0, start: 4, rows: 1, random: &random))
        )
        #expect(Self.errorCode(taken) == nil)
    }

    @Test(
        "a shard list names every open shard by id with its namespace, start, tokens in layer 0 and in every layer, and prompt"
    )
    func shardList() throws {
        var instance = try Self.instance()
        var random = SplitMix64(seed: 8)
        for (id, namespace, start, tokens) in [(UInt64(41), "ns", 0, 6), (40, "other", 8, 8)] {
            let opened = instance.handle(
                Envelope(
                    requestID: id,
                    message: .openSequence(
                        OpenSequence(
                            sequenceID: id,
                            namespace: namespace,
                            shardStart: UInt32(start),
                            tokens: (0..<UInt32(tokens)).map { $0 + 50 }
                        )
                    )
                )
            )
            #expect(Self.errorCode(opened) == nil)
        }
        _ = try Self.fill(&instance, 41, rows: 6, random: &random)
        // Sequence 40's shard starts at 8 and has 3 tokens in layer 0 only: a step cut between layers.
        let prefill = instance.handle(
            Envelope(requestID: 5, message: try Self.prefill(40, layer: 0, start: 8, rows: 3, random: &random))
        )
        #expect(Self.jobs(prefill).count == 1)
        let listed = instance.handle(Envelope(requestID: 6, message: .shardListRequest(ShardListRequest())))
        #expect(
            Self.replies(listed) == [
                Envelope(
                    requestID: 6,
                    message: .shardListReply(
                        ShardListReply(
                            workerID: 7,
                            shards: [
                                ShardListReply.Shard(
                                    sequenceID: 40,
                                    namespace: "other",
                                    shardStart: 8,
                                    layerZeroTokens: 3,
                                    everyLayerTokens: 0,
                                    promptTokens: 8
                                ),
                                ShardListReply.Shard(
                                    sequenceID: 41,
                                    namespace: "ns",
                                    shardStart: 0,
                                    layerZeroTokens: 6,
                                    everyLayerTokens: 6,
                                    promptTokens: 6
                                ),
                            ]
                        )
                    )
                )
            ]
        )
        _ = Self.close(&instance, 41, commit: false)
        let after = instance.handle(Envelope(requestID: 7, message: .shardListRequest(ShardListRequest())))
        guard case .shardListReply(let reply)? = Self.replies(after).first?.message else {
            throw ServiceError.internal("no shard list in \(after)")
        }
        #expect(reply.shards.map(\.sequenceID) == [40])
    }

    @Test(
        "an eviction yields a demote directive carrying the evicted page's bytes, and a tier event: the key stays held"
    )
    func evictionDemotes() throws {
        var instance = try Self.instance(pages: 2)
        var random = SplitMix64(seed: 6)
        let prompt = (0..<4).map { UInt32($0 + 10) }
        let key = try #require(try Self.keys(prompt).first)
        let first = try Self.open(&instance, prompt)
        _ = try Self.fill(&instance, first.sequenceID, rows: 4, random: &random)
        _ = Self.close(&instance, first.sequenceID, commit: true)
        let bytes = try #require(try instance.manager.cachedPage(key: key))
        let other = try Self.open(&instance, [1, 2])
        let filled = try Self.fill(&instance, other.sequenceID, rows: 8, random: &random)
        let demoted = Self.demotions(filled)
        #expect(demoted.map(\.key) == [key])
        #expect(demoted.first?.page.bytes == bytes)
        #expect(
            Self.numberedEvents(filled) == [
                .tier(CacheTierEvent(workerID: 7, eventSequence: 2, tier: .compressedMemory, keys: [key]))
            ]
        )
        #expect(instance.manager.cache.lowerTierKeys == [key])
        // A 1.1 snapshot reports it below, a 1.0 one as held.
        guard case .tierSnapshotReply(let snapshot)? = instance.snapshot(forMinorVersion: 1) as Message? else {
            throw ServiceError.internal("no tier snapshot")
        }
        #expect(snapshot.keys == [key] && snapshot.tiers == [.compressedMemory])
        #expect(instance.snapshot(forMinorVersion: 0) == .snapshotReply(instance.snapshot()))
        #expect(instance.statistics().first { $0.name == "pages_demoted" }?.value == 1)
        // The tiers drop it later: it left the worker.
        #expect(
            Self.events(instance.lowerTiersLost([key])) == [
                CacheEvent(workerID: 7, eventSequence: 3, kind: .removed, keys: [key])
            ]
        )
    }

    @Test("PageRemove removes the keys from the lower tiers too, and a held key's removal is an event")
    func removeKeys() throws {
        var instance = try Self.instance()
        let layout = instance.layout
        var random = SplitMix64(seed: 7)
        let page = try RawPage(layout: layout, values: random.floats(layout.elementCount, in: -4..<4))
        let put = instance.handle(
            Envelope(
                requestID: 1,
                message: .pagePut(PagePut(pages: [EncodedPage(key: tierKey(1), bytes: PageCodec().encode(page))]))
            )
        )
        #expect(Self.events(put) == [CacheEvent(workerID: 7, eventSequence: 1, kind: .stored, keys: [tierKey(1)])])
        let removed = instance.handle(
            Envelope(requestID: 2, message: .pageRemove(PageRemove(keys: [tierKey(1), tierKey(2)])))
        )
        #expect(
            removed == [
                .removeFromLowerTiers([tierKey(1), tierKey(2)]),
                .publish([.held(CacheEvent(workerID: 7, eventSequence: 2, kind: .removed, keys: [tierKey(1)]))]),
                .reply(Envelope(requestID: 2, message: .ack(Ack()))),
            ]
        )
        #expect(!instance.isHot(tierKey(1)))
    }

    @Test(
        "a PagePut of a key held below the hot pool takes the page hot and keeps the lower tiers' file as its durable copy"
    )
    func putKeepsDurableCopy() throws {
        var instance = try Self.instance(pages: 1)
        let layout = instance.layout
        var random = SplitMix64(seed: 8)
        let pages = try (1...2).map { n in
            EncodedPage(
                key: tierKey(n),
                bytes: PageCodec().encode(
                    try RawPage(layout: layout, values: random.floats(layout.elementCount, in: -4..<4))
                )
            )
        }
        _ = instance.handle(Envelope(requestID: 1, message: .pagePut(PagePut(pages: [pages[0]]))))
        let second = instance.handle(Envelope(requestID: 2, message: .pagePut(PagePut(pages: [pages[1]]))))
        #expect(Self.demotions(second).map(\.key) == [tierKey(1)])
        let again = instance.handle(Envelope(requestID: 3, message: .pagePut(PagePut(pages: [pages[0]]))))
        #expect(again.contains(.keepDurableCopies([tierKey(1)])))
        #expect(!again.contains { if case .removeFromLowerTiers = $0 { true } else { false } })
        // The key never left the worker: no event for it.
        #expect(Self.events(again).isEmpty)
        #expect(instance.isHot(tierKey(1)))
        #expect(Self.errorCode(again) == nil)
    }

    @Test(
        "reply-only messages and a coordinator's requests are refused badRequest with their id; a CacheEvent gets nothing"
    )
    func refusesReplies() throws {
        var instance = try Self.instance()
        let messages: [Message] = [
            .ack(Ack()), .errorReply(ErrorReply(code: .internal, message: "x")),
            .openSequenceReply(OpenSequenceReply(sequenceID: 1, cachedTokens: 0)),
            .pageContainsReply(PageContainsReply(present: [])),
            .snapshotReply(SnapshotReply(workerID: 1, eventSequence: 0, keys: [])),
            .heartbeat(Heartbeat(workerID: 1, liveSequences: 0, freePages: 0, cachedPages: 0, lastEventSequence: 0)),
        ]
        for (index, message) in messages.enumerated() {
            let directives = instance.handle(Envelope(requestID: UInt64(50 + index), message: message))
            #expect(Self.replies(directives).map(\.requestID) == [UInt64(50 + index)])
            #expect(Self.errorCode(directives) == .badRequest)
        }
        #expect(
            instance.handle(
                Envelope(
                    requestID: 0,
                    message: .cacheEvent(CacheEvent(workerID: 1, eventSequence: 1, kind: .stored, keys: []))
                )
            ).isEmpty
        )
        #expect(instance.statistics().first { $0.name == "errors" }?.value == UInt64(messages.count))
    }

    @Test("NaN or infinity in a prefill or decode is refused and nothing is appended")
    func nonFiniteInput() throws {
        var instance = try Self.instance()
        var random = SplitMix64(seed: 9)
        let opened = try Self.open(&instance, Array(0..<4))
        let refused = instance.handle(
            Envelope(
                requestID: 4,
                message: try Self.prefill(opened.sequenceID, layer: 0, start: 0, rows: 3, random: &random, poison: .nan)
            )
        )
        #expect(Self.errorCode(refused) == .badRequest)
        #expect(Self.jobs(refused).isEmpty)
        let id = SequenceID(rawValue: opened.sequenceID)
        #expect(try instance.manager.sequence(id).layerLengths == [0, 0])
        #expect(instance.freePageCount == 16)

        _ = try Self.fill(&instance, opened.sequenceID, rows: 3, random: &random)
        var k = random.floats(16, in: -4..<4)
        k[5] = .infinity
        let step = try Decode(
            layer: 1,
            entries: [Decode.Entry(sequenceID: opened.sequenceID, queryTokens: 1)],
            input: AttentionInput(
                q: WireTensor(f32: random.floats(32, in: -4..<4), shape: [1, 4, 8]),
                k: WireTensor(f32: k, shape: [1, 2, 8]),
                v: WireTensor(f32: random.floats(16, in: -4..<4), shape: [1, 2, 8])
            )
        )
        let decode = instance.handle(Envelope(requestID: 5, message: .decode(step)))
        #expect(Self.errorCode(decode) == .badRequest)
        #expect(Self.jobs(decode).isEmpty)
        #expect(try instance.manager.sequence(id).layerLengths == [3, 3])
    }

    @Test("PageContains asks the lower tiers only about keys that are not hot, and answers with both")
    func containsAsksTiers() throws {
        var instance = try Self.instance()
        let layout = instance.layout
        var random = SplitMix64(seed: 10)
        let page = EncodedPage(
            key: tierKey(1),
            bytes: PageCodec().encode(
                try RawPage(layout: layout, values: random.floats(layout.elementCount, in: -4..<4))
            )
        )
        _ = instance.handle(Envelope(requestID: 1, message: .pagePut(PagePut(pages: [page]))))
        #expect(
            instance.handle(Envelope(requestID: 2, message: .pageContains(PageContains(keys: [tierKey(1)])))) == [
                .reply(Envelope(requestID: 2, message: .pageContainsReply(PageContainsReply(present: [true]))))
            ]
        )
        let asked = instance.handle(
            Envelope(requestID: 3, message: .pageContains(PageContains(keys: [tierKey(2), tierKey(1), tierKey(3)])))
        )
        guard case let .askLowerTiersContain(keys, pending)? = asked.last else {
            throw ServiceError.internal("no question")
        }
        #expect(keys == [tierKey(2), tierKey(3)])
        #expect(
            instance.resume(pending, with: .lowerTierPresence([false, true])) == [
                .reply(
                    Envelope(
                        requestID: 3,
                        message: .pageContainsReply(PageContainsReply(present: [false, true, true]))
                    )
                )
            ]
        )
        // An answer of another kind, or of the wrong length, is an internal error, not a crash.
        #expect(Self.errorCode(instance.resume(pending, with: .lowerTierPresence([true]))) == .internal)
        #expect(Self.errorCode(instance.resume(pending, with: .lowerTierPages([:]))) == .internal)
    }

    @Test("events of a PullPages served beside other requests are numbered in the order the changes happen")
    func overlappingEvents() throws {
        var instance = try Self.instance()
        let layout = instance.layout
        var random = SplitMix64(seed: 11)
        let page = EncodedPage(
            key: tierKey(5),
            bytes: PageCodec().encode(
                try RawPage(layout: layout, values: random.floats(layout.elementCount, in: -4..<4))
            )
        )
        let asked = instance.handle(
            Envelope(
                requestID: 20,
                message: .pullPages(PullPages(peerEndpoint: "tcp://127.0.0.1:1", keys: [tierKey(5), tierKey(6)]))
            )
        )
        guard case let .askLowerTiersContain(_, presence)? = asked.last else {
            throw ServiceError.internal("no question")
        }
        let fetch = instance.resume(presence, with: .lowerTierPresence([false, false]))
        guard case let .fetchFromPeer(endpoint, keys, pending)? = fetch.last else {
            throw ServiceError.internal("no fetch")
        }
        #expect(endpoint == "tcp://127.0.0.1:1")
        #expect(keys == [tierKey(5), tierKey(6)])

        // While the peer is asked, a sequence is committed: its event comes first.
        let prompt = (0..<4).map { UInt32($0 + 500) }
        let opened = try Self.open(&instance, prompt)
        _ = try Self.fill(&instance, opened.sequenceID, rows: 4, random: &random)
        let closed = Self.close(&instance, opened.sequenceID, commit: true)
        #expect(Self.events(closed).map(\.eventSequence) == [1])

        let pulled = instance.resume(pending, with: .peerPages(.success([page])))
        #expect(Self.events(pulled) == [CacheEvent(workerID: 7, eventSequence: 2, kind: .stored, keys: [tierKey(5)])])
        #expect(
            Self.replies(pulled) == [
                Envelope(requestID: 20, message: .pullPagesReply(PullPagesReply(pulled: [true, false])))
            ]
        )

        // A peer that cannot be reached makes the answer unavailable.
        let again = instance.handle(
            Envelope(
                requestID: 21,
                message: .pullPages(PullPages(peerEndpoint: "tcp://127.0.0.1:1", keys: [tierKey(7)]))
            )
        )
        guard case let .askLowerTiersContain(_, second)? = again.last else {
            throw ServiceError.internal("no question")
        }
        guard case let .fetchFromPeer(_, _, third)? = instance.resume(second, with: .lowerTierPresence([false])).last
        else {
            throw ServiceError.internal("no fetch")
        }
        #expect(
            Self.errorCode(instance.resume(third, with: .peerPages(.failure(.unavailable("peer gone")))))
                == .unavailable
        )
    }

    @Test("a drained worker opens nothing, and closing its last sequence says so")
    func drainAndLastClose() throws {
        var instance = try Self.instance()
        let opened = try Self.open(&instance, [1, 2, 3])
        #expect(
            Self.errorCode(instance.handle(Envelope(requestID: 1, message: .drain(Drain(workerID: 8))))) == .badRequest
        )
        #expect(
            instance.handle(Envelope(requestID: 2, message: .drain(Drain(workerID: 7)))) == [
                .reply(Envelope(requestID: 2, message: .ack(Ack())))
            ]
        )
        #expect(instance.isDraining)
        let refused = instance.handle(
            Envelope(
                requestID: 3,
                message: .openSequence(OpenSequence(sequenceID: 0, namespace: "ns", shardStart: 0, tokens: [1]))
            )
        )
        #expect(Self.errorCode(refused) == .unavailable)
        let closed = Self.close(&instance, opened.sequenceID, commit: false)
        #expect(closed.contains(.lastSequenceClosed))
        #expect(instance.liveSequenceCount == 0)
    }

    @Test("a PageGet of a page below the hot pool asks the tiers, then answers it as they gave it back")
    func getColdPage() throws {
        var instance = try Self.instance(pages: 1)
        let layout = instance.layout
        var random = SplitMix64(seed: 12)
        let raws = try (1...2).map { _ in
            try RawPage(layout: layout, values: random.floats(layout.elementCount, in: -4..<4))
        }
        let encoded = zip([tierKey(1), tierKey(2)], raws).map { EncodedPage(key: $0, bytes: PageCodec().encode($1)) }
        _ = instance.handle(Envelope(requestID: 1, message: .pagePut(PagePut(pages: [encoded[0]]))))
        _ = instance.handle(Envelope(requestID: 2, message: .pagePut(PagePut(pages: [encoded[1]]))))
        let asked = instance.handle(
            Envelope(requestID: 3, message: .pageGet(PageGet(keys: [tierKey(1), tierKey(2), tierKey(3)])))
        )
        guard case let .fetchFromLowerTiers(keys, pending)? = asked.last else {
            throw ServiceError.internal("no fetch")
        }
        #expect(keys == [tierKey(1)])
        let answered = instance.resume(pending, with: .lowerTierPages([tierKey(1): raws[0]]))
        guard case .pageGetReply(let reply)? = Self.replies(answered).first?.message else {
            throw ServiceError.internal("no reply")
        }
        #expect(reply.pages.map(\.key) == [tierKey(1), tierKey(2)])
        #expect(try reply.pages.map { try PageCodec().decode($0.bytes) } == raws)
        // Admitting the page pushed the other one below: a demotion, no event.
        #expect(Self.demotions(answered).map(\.key) == [tierKey(2)])
        #expect(Self.events(answered).isEmpty)
    }

    @Test("StatsRequest asks the shell to add the tiers' counters to the worker's own")
    func statistics() throws {
        var instance = try Self.instance()
        let directives = instance.handle(Envelope(requestID: 12, message: .statsRequest(StatsRequest())))
        guard case let .replyWithTierStatistics(id, counters)? = directives.last else {
            throw ServiceError.internal("no stats")
        }
        #expect(id == 12)
        #expect(counters.first { $0.name == "hot_pages" }?.value == 16)
        #expect(counters.first { $0.name == "requests" }?.value == 1)
    }
}

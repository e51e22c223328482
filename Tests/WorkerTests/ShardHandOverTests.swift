import CacheProtocol
import Kernels
import Testing

@testable import Worker

/// A shard handed from one worker to another (`ShardExport` served by the source, `AdoptShard`
/// taken by the target), with the two instances playing each other's peer: no sockets.
@Suite("Shard hand-over")
struct ShardHandOverTests {
    typealias Kit = WorkerInstanceTests

    static let source = "tcp://source:1"

    /// Opens sequence `id` on `instance` with `tokens` under namespace `ns`.
    static func open(_ instance: inout WorkerInstance, id: UInt64, tokens: [UInt32]) throws {
        let directives = instance.handle(
            Envelope(
                requestID: 1,
                message: .openSequence(OpenSequence(sequenceID: id, namespace: "ns", shardStart: 0, tokens: tokens))
            )
        )
        guard case .openSequenceReply? = Kit.replies(directives).first?.message else {
            throw ServiceError.internal("no open reply in \(directives)")
        }
    }

    /// Runs an `AdoptShard` of sequence `id` on `target`, answering each of its `ShardExport`s with
    /// `source`'s answer, as the shell would; the target's last directives and the exports asked.
    static func adopt(
        _ id: UInt64,
        into target: inout WorkerInstance,
        from source: inout WorkerInstance,
        namespace: String = "ns"
    ) -> (directives: [WorkerDirective], exports: [ShardExport]) {
        var directives = target.handle(
            Envelope(
                requestID: 77,
                message: .adoptShard(
                    AdoptShard(sequenceID: id, namespace: namespace, shardStart: 0, peerEndpoint: Self.source)
                )
            )
        )
        var exports: [ShardExport] = []
        while case let .exportFromPeer(endpoint, request, pending)? = directives.last {
            #expect(endpoint == Self.source)
            exports.append(request)
            let answer = source.handle(Envelope(requestID: 5, message: .shardExport(request)))
            let result: Result<ShardExportReply, ServiceError>
            switch Kit.replies(answer).last?.message {
            case .shardExportReply(let reply)?: result = .success(reply)
            case .errorReply(let error)?: result = .failure(.unavailable("peer refused: \(error.message)"))
            default: result = .failure(.internal("no answer"))
            }
            directives = target.resume(pending, with: .peerShard(result))
        }
        return (directives, exports)
    }

    /// One decode step of `sequence` at `layer` with one query token and its k and v, run as the
    /// shell would; the reply.
    static func decode(
        _ instance: inout WorkerInstance,
        _ sequence: UInt64,
        layer: UInt32,
        seed: UInt64
    ) throws
        -> Envelope?
    {
        var random = SplitMix64(seed: seed)
        let input = try AttentionInput(
            q: WireTensor(f32: random.floats(32, in: -4..<4), shape: [1, 4, 8]),
            k: WireTensor(f32: random.floats(16, in: -4..<4), shape: [1, 2, 8]),
            v: WireTensor(f32: random.floats(16, in: -4..<4), shape: [1, 2, 8])
        )
        let body = try Decode(layer: layer, entries: [Decode.Entry(sequenceID: sequence, queryTokens: 1)], input: input)
        let directives = instance.handle(Envelope(requestID: 3, message: .decode(body)))
        guard let job = Kit.jobs(directives).first else { return Kit.replies(directives).last }
        return Kit.replies(instance.attentionFinished(job, AttentionRunner.compute(job.calls))).last
    }

    @Test(
        "an adopted shard has the source's layer lengths, keys and pages: the next decode answers the same bits on both"
    )
    func adoptedShardDecodesIdentically() throws {
        var source = try Kit.instance(pages: 16)
        var target = try Kit.instance(pages: 16)
        var random = SplitMix64(seed: 3)
        let tokens = (0..<10).map { UInt32($0 + 40) }
        try Self.open(&source, id: 42, tokens: tokens)
        _ = try Kit.fill(&source, 42, rows: 6, random: &random)
        // Layer 0 one token ahead of layer 1, as between two layers of a step.
        let layer0 = try Self.decode(&source, 42, layer: 0, seed: 11)
        #expect(layer0.map { if case .decodeReply = $0.message { true } else { false } } == true)

        let (directives, exports) = Self.adopt(42, into: &target, from: &source)
        #expect(exports.map(\.firstPage) == [0])
        guard case .adoptShardReply(let reply)? = Kit.replies(directives).last?.message else {
            Issue.record("no AdoptShardReply: \(directives)")
            return
        }
        #expect(reply.sequenceID == 42)
        #expect(reply.length == 6)
        #expect(reply.pages == 2)
        #expect(reply.bytes > 0)
        #expect(target.liveSequenceCount == 1)
        let adopted = try target.manager.sequence(SequenceID(rawValue: 42))
        let original = try source.manager.sequence(SequenceID(rawValue: 42))
        #expect(adopted.layerLengths == [7, 6])
        #expect(adopted.layerLengths == original.layerLengths)
        #expect(target.shards[SequenceID(rawValue: 42)] == source.shards[SequenceID(rawValue: 42)])

        // The step's layer 1, then a whole next step, on both: the same bits.
        #expect(try Self.decode(&target, 42, layer: 1, seed: 12) == Self.decode(&source, 42, layer: 1, seed: 12))
        for layer in UInt32(0)..<2 {
            let moved = try Self.decode(&target, 42, layer: layer, seed: 20 + UInt64(layer))
            #expect(moved == (try Self.decode(&source, 42, layer: layer, seed: 20 + UInt64(layer))))
            #expect(moved.map { if case .decodeReply = $0.message { true } else { false } } == true)
        }
        // Closing with commit on the target stores the prompt's full pages under the source's keys.
        let closed = Kit.close(&target, 42, commit: true)
        #expect(Kit.events(closed).flatMap(\.keys) == Array(try Kit.keys(tokens).prefix(2)))
    }

    @Test("a shard of more pages than one answer carries comes in several runs")
    func severalRuns() throws {
        let pages = WireLimits.maxPagesPerRequest + 40
        var source = try Kit.instance(pages: pages + 4)
        var target = try Kit.instance(pages: pages + 4)
        var random = SplitMix64(seed: 4)
        let rows = (pages - 1) * 4 + 2
        try Self.open(&source, id: 9, tokens: [1, 2, 3])
        _ = try Kit.fill(&source, 9, rows: rows, random: &random)
        let (directives, exports) = Self.adopt(9, into: &target, from: &source)
        #expect(exports.map(\.firstPage) == [0, UInt32(WireLimits.maxPagesPerRequest)])
        guard case .adoptShardReply(let reply)? = Kit.replies(directives).last?.message else {
            Issue.record("no AdoptShardReply: \(Kit.replies(directives))")
            return
        }
        #expect(reply.length == UInt32(rows))
        #expect(reply.pages == UInt32(pages))
        #expect(try Self.decode(&target, 9, layer: 0, seed: 1) == Self.decode(&source, 9, layer: 0, seed: 1))
    }

    @Test(
        "refusals: unknown shard, another namespace, an id open already, no room, a draining target; each changes nothing"
    )
    func refusals() throws {
        var source = try Kit.instance(pages: 16)
        var random = SplitMix64(seed: 5)
        try Self.open(&source, id: 42, tokens: [1, 2, 3, 4, 5])
        _ = try Kit.fill(&source, 42, rows: 9, random: &random)

        let unknown = source.handle(
            Envelope(
                requestID: 2,
                message: .shardExport(ShardExport(sequenceID: 41, namespace: "ns", shardStart: 0, firstPage: 0))
            )
        )
        #expect(Kit.errorCode(unknown) == .unknownSequence)
        let otherTenant = source.handle(
            Envelope(
                requestID: 2,
                message: .shardExport(ShardExport(sequenceID: 42, namespace: "other", shardStart: 0, firstPage: 0))
            )
        )
        #expect(Kit.errorCode(otherTenant) == .unknownSequence)
        let pastTheEnd = source.handle(
            Envelope(
                requestID: 2,
                message: .shardExport(ShardExport(sequenceID: 42, namespace: "ns", shardStart: 0, firstPage: 4))
            )
        )
        #expect(Kit.errorCode(pastTheEnd) == .badRequest)

        // The peer's refusal is passed on; the target opens nothing.
        var target = try Kit.instance(pages: 16)
        #expect(
            Kit.errorCode(Self.adopt(42, into: &target, from: &source, namespace: "other").directives) == .unavailable
        )
        #expect(target.liveSequenceCount == 0)

        // An id open already.
        try Self.open(&target, id: 42, tokens: [9])
        #expect(Kit.errorCode(Self.adopt(42, into: &target, from: &source).directives) == .badRequest)

        // No room: three pages are needed, two are free; the target keeps serving.
        var small = try Kit.instance(pages: 2)
        #expect(Kit.errorCode(Self.adopt(42, into: &small, from: &source).directives) == .capacity)
        #expect(small.liveSequenceCount == 0)
        #expect(small.freePageCount == 2)
        try Self.open(&small, id: 43, tokens: [1])

        // A draining target takes no sequence.
        var draining = try Kit.instance(pages: 16)
        _ = draining.handle(Envelope(requestID: 1, message: .drain(Drain(workerID: 7))))
        #expect(Kit.errorCode(Self.adopt(42, into: &draining, from: &source).directives) == .unavailable)

        // A store worker neither exports nor adopts.
        var store = try Kit.instance(pages: 16, role: .store)
        #expect(Kit.errorCode(Self.adopt(42, into: &store, from: &source).directives) == .badRequest)
        // The source still holds its shard, unchanged.
        #expect(try source.manager.sequence(SequenceID(rawValue: 42)).layerLengths == [9, 9])
    }

    @Test("a run ends once its encoded pages reach the byte bound, with at least one page")
    func runByteBound() throws {
        var source = try Kit.instance(pages: 16)
        var random = SplitMix64(seed: 6)
        try Self.open(&source, id: 42, tokens: [1, 2, 3])
        _ = try Kit.fill(&source, 42, rows: 10, random: &random)
        for first in UInt32(0)..<3 {
            let request = ShardExport(sequenceID: 42, namespace: "ns", shardStart: 0, firstPage: first)
            let directives = try source.exportShard(request, requestID: 1, runBytes: 1)
            guard case .shardExportReply(let reply)? = Kit.replies(directives).last?.message else {
                Issue.record("no ShardExportReply: \(directives)")
                return
            }
            #expect(reply.firstPage == first)
            #expect(reply.totalPages == 3)
            #expect(reply.pages.count == 1)
        }
        let whole = try source.exportShard(
            ShardExport(sequenceID: 42, namespace: "ns", shardStart: 0, firstPage: 0),
            requestID: 1
        )
        guard case .shardExportReply(let reply)? = Kit.replies(whole).last?.message else {
            Issue.record("no ShardExportReply: \(whole)")
            return
        }
        #expect(reply.pages.count == 3)
    }
}

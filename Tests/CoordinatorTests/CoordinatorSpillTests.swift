import CacheProtocol
import Kernels
import Testing

@testable import Coordinator

/// A sequence whose tail worker is out of pages continues on another worker as a new shard.
@Suite("CoordinatorSpill")
struct CoordinatorSpillTests {
    typealias Routing = CoordinatorRoutingTests

    static let capacity = ErrorReply(code: .capacity, message: "no free pages")

    /// Workers 1 and 2 (and 3 when `third`); sequence A opened on worker 1 with 8 cached tokens
    /// (two full pages of 4: its length is a page boundary).
    static func cluster(third: Bool = false) throws -> (harness: CoordinatorHarness, a: UInt64) {
        var harness = try CoordinatorHarness { $0.weights.minimumPullPages = 1000 }
        let tokens = CoordinatorHarness.tokens(pages: 2, first: 1)
        try harness.join(1, keys: harness.keys(tokens))
        try harness.join(2)
        if third { try harness.join(3) }
        let (a, worker) = try harness.open(tokens, cachedTokens: 8)
        guard worker == 1 else { throw CoordinatorHarness.Failure(description: "A was placed on \(worker)") }
        return (harness, a)
    }

    static func decodes(to worker: UInt64, in directives: [CoordinatorDirective]) -> [(Envelope, Decode)] {
        CoordinatorHarness.sent(to: worker, in: directives).compactMap {
            if case .decode(let body) = $0.message { ($0, body) } else { nil }
        }
    }

    static func counter(_ name: String, _ harness: inout CoordinatorHarness) -> UInt64? {
        harness.stats()[name]
    }

    /// Sends a one-token decode of A, has worker 1 refuse it `capacity` and worker 2 open the new
    /// shard; returns the directives after the open's answer and the client's request id.
    static func spill(
        _ harness: inout CoordinatorHarness,
        _ a: UInt64,
        batch: Decode
    ) throws -> (request: UInt64, directives: [CoordinatorDirective]) {
        let (request, sent) = harness.fromClient(.decode(batch))
        let refused = try #require(decodes(to: 1, in: sent).first)
        #expect(refused.1.input.k != nil)
        let opening = harness.fromWorker(1, refused.0.requestID, .errorReply(capacity))
        #expect(CoordinatorHarness.answers(to: harness.client, in: opening).isEmpty)
        let open = try #require(CoordinatorHarness.sent(to: 2, in: opening).first)
        guard case .openSequence(let body) = open.message else {
            throw CoordinatorHarness.Failure(description: "worker 2 got \(open.message.type), not OpenSequence")
        }
        #expect(body.sequenceID == a)
        #expect(body.namespace == "t")
        #expect(body.shardStart == 8)
        #expect(body.tokens.count == 8)
        #expect(CoordinatorHarness.sent(to: 1, in: opening).isEmpty)
        let directives = harness.fromWorker(
            2,
            open.requestID,
            .openSequenceReply(OpenSequenceReply(sequenceID: a, cachedTokens: 8))
        )
        return (request, directives)
    }

    @Test(
        "a decode refused capacity by the tail at a page boundary is completed on a new shard: its open starts at the length, the re-sent part carries k and v, the old tail gets the queries alone, and the answer is the exact merge"
    )
    func decodeSpills() throws {
        var (harness, a) = try Self.cluster()
        let (batch, q, k) = try Routing.decode([(a, 1)])
        let (request, directives) = try Self.spill(&harness, a, batch: batch)
        #expect(harness.instance.shards(of: a).map(\.worker) == [WorkerID(1), WorkerID(2)])
        #expect(harness.instance.shards(of: a).map(\.start) == [0, 8])
        // The old tail is sealed where the new shard starts.
        #expect(
            CoordinatorHarness.sent(to: 1, in: directives).contains {
                $0.message == .sealShard(SealShard(sequenceID: a, end: 8))
            }
        )
        let earlier = try #require(Self.decodes(to: 1, in: directives).first)
        let tail = try #require(Self.decodes(to: 2, in: directives).first)
        #expect(Self.decodes(to: 1, in: directives).count == 1)
        #expect(earlier.1.input.k == nil && earlier.1.input.v == nil)
        #expect(earlier.1.entries == [Decode.Entry(sequenceID: a, queryTokens: 1)])
        #expect(try earlier.1.input.q.f32Values() == q[0])
        #expect(try tail.1.input.q.f32Values() == q[0])
        #expect(try tail.1.input.k?.f32Values() == k[0])
        #expect(try tail.1.input.v?.f32Values() == k[0].map { -$0 })

        let firstKeys = (0..<8).map { Routing.vector(500 + $0) }
        let firstValues = (0..<8).map { Routing.vector(600 + $0) }
        let partial1 = Routing.attention(q: q[0], keys: firstKeys, values: firstValues)
        let partial2 = Routing.attention(q: q[0], keys: [k[0]], values: [k[0].map { -$0 }])
        let whole = Routing.attention(q: q[0], keys: firstKeys + [k[0]], values: firstValues + [k[0].map { -$0 }])
        _ = harness.fromWorker(
            2,
            tail.0.requestID,
            .decodeReply(
                DecodeReply(layer: 0, result: try Routing.output(rows: [partial2.output], lse: [partial2.lse]))
            )
        )
        let last = harness.fromWorker(
            1,
            earlier.0.requestID,
            .decodeReply(
                DecodeReply(layer: 0, result: try Routing.output(rows: [partial1.output], lse: [partial1.lse]))
            )
        )
        guard case .mergeDecode(let job)? = last.first, last.count == 1 else {
            Issue.record("expected one merge job, got \(last)")
            return
        }
        let reply = job.reply()
        #expect(reply.requestID == request)
        guard case .decodeReply(let merged) = reply.message else {
            Issue.record("the merge failed: \(reply.message)")
            return
        }
        let output = try merged.result.output.f32Values()
        let lse = try merged.result.lse.f32Values()
        for index in 0..<8 { #expect(abs(output[index] - whole.output[index]) < 1e-5) }
        for head in 0..<2 { #expect(abs(lse[head] - whole.lse[head]) < 1e-5) }
        let direct = try AttentionMerge.merge(
            [
                AttentionResult(output: partial1.output, logSumExp: partial1.lse),
                AttentionResult(output: partial2.output, logSumExp: partial2.lse),
            ],
            headDim: 4
        )
        #expect(output == direct.output)
        #expect(harness.instance.sequences[a]?.length == 9)
        #expect(harness.instance.pendingOperations == 0)
        #expect(Self.counter("cluster.spills", &harness) == 1)
        #expect(Self.counter("cluster.spills.refused", &harness) == 0)
    }

    @Test(
        "a layer-0 prefill the tail refuses capacity at a page boundary goes again as a decode, spills, and is answered as a PrefillReply of the exact merge"
    )
    func prefillSpills() throws {
        var (harness, a) = try Self.cluster()
        let (batch, q, k) = try Routing.decode([(a, 2)])
        let prefill = try Prefill(sequenceID: a, layer: 0, startPosition: 8, input: batch.input)
        let (request, sent) = harness.fromClient(.prefill(prefill))
        let first = try #require(CoordinatorHarness.sent(to: 1, in: sent).first)
        #expect(first.message == .prefill(prefill))
        // The tail has no page: the chunk goes again as a one-entry decode, which the tail refuses
        // too, and the sequence continues on worker 2 from token 8.
        let again = harness.fromWorker(1, first.requestID, .errorReply(Self.capacity))
        #expect(CoordinatorHarness.answers(to: harness.client, in: again).isEmpty)
        let resent = try #require(Self.decodes(to: 1, in: again).first)
        #expect(resent.1.entries == [Decode.Entry(sequenceID: a, queryTokens: 2)])
        #expect(resent.1.input == batch.input)
        let opening = harness.fromWorker(1, resent.0.requestID, .errorReply(Self.capacity))
        let open = try #require(CoordinatorHarness.sent(to: 2, in: opening).first)
        guard case .openSequence(let body) = open.message, body.shardStart == 8 else {
            throw CoordinatorHarness.Failure(description: "worker 2 got \(open.message), not an open at 8")
        }
        let directives = harness.fromWorker(
            2,
            open.requestID,
            .openSequenceReply(OpenSequenceReply(sequenceID: a, cachedTokens: 8))
        )
        #expect(harness.instance.shards(of: a).map(\.start) == [0, 8])
        let earlier = try #require(Self.decodes(to: 1, in: directives).first)
        let tail = try #require(Self.decodes(to: 2, in: directives).first)
        #expect(earlier.1.input.k == nil)
        #expect(tail.1.input.k != nil)
        let firstKeys = (0..<8).map { Routing.vector(500 + $0) }
        let firstValues = (0..<8).map { Routing.vector(600 + $0) }
        // Row 0 sees the first shard and its own token; row 1 also the token before it.
        let tailKeys = [k[0], k[1]]
        let tailValues = tailKeys.map { $0.map { -$0 } }
        let partials1 = (0..<2).map { Routing.attention(q: q[$0], keys: firstKeys, values: firstValues) }
        let partials2 = (0..<2).map {
            Routing.attention(q: q[$0], keys: Array(tailKeys[...$0]), values: Array(tailValues[...$0]))
        }
        _ = harness.fromWorker(
            2,
            tail.0.requestID,
            .decodeReply(
                DecodeReply(
                    layer: 0,
                    result: try Routing.output(rows: partials2.map(\.output), lse: partials2.map(\.lse))
                )
            )
        )
        let last = harness.fromWorker(
            1,
            earlier.0.requestID,
            .decodeReply(
                DecodeReply(
                    layer: 0,
                    result: try Routing.output(rows: partials1.map(\.output), lse: partials1.map(\.lse))
                )
            )
        )
        guard case .mergeDecode(let job)? = last.first else {
            Issue.record("expected a merge job, got \(last)")
            return
        }
        let reply = job.reply()
        #expect(reply.requestID == request)
        guard case .prefillReply(let merged) = reply.message else {
            Issue.record("not a PrefillReply: \(reply.message)")
            return
        }
        #expect(merged.sequenceID == a && merged.layer == 0)
        let output = try merged.result.output.f32Values()
        for row in 0..<2 {
            let whole = Routing.attention(
                q: q[row],
                keys: firstKeys + Array(tailKeys[...row]),
                values: firstValues + Array(tailValues[...row])
            )
            for index in 0..<8 { #expect(abs(output[row * 8 + index] - whole.output[index]) < 1e-5) }
        }
        #expect(harness.instance.sequences[a]?.length == 10)
        #expect(Self.counter("cluster.spills", &harness) == 1)
        #expect(harness.instance.pendingOperations == 0)
    }

    @Test(
        "a prefill on a sequence of several shards fans out as a decode; one that does not start where its layer ends is refused and nothing is sent"
    )
    func prefillAcrossShards() throws {
        var (harness, a) = try Self.spilled()
        let (batch, _, _) = try Routing.decode([(a, 1)])
        let wrong = try Prefill(sequenceID: a, layer: 0, startPosition: 4, input: batch.input)
        let (_, refused) = harness.fromClient(.prefill(wrong))
        #expect(
            CoordinatorHarness.errorCode(CoordinatorHarness.answers(to: harness.client, in: refused).first)
                == .badRequest
        )
        #expect(CoordinatorHarness.workerSends(in: refused).isEmpty)
        // Layer 1 of the chunk layer 0 just took (A's length is 9: the chunk was token 8).
        let right = try Prefill(sequenceID: a, layer: 1, startPosition: 8, input: batch.input)
        let (_, sent) = harness.fromClient(.prefill(right))
        let toFirst = try #require(Self.decodes(to: 1, in: sent).first)
        let toTail = try #require(Self.decodes(to: 2, in: sent).first)
        #expect(toFirst.1.layer == 1 && toFirst.1.input.k == nil)
        #expect(toTail.1.layer == 1 && toTail.1.input.k != nil)
    }

    /// A spilled A (shards on workers 1 and 2 from 8, length 9).
    static func spilled() throws -> (harness: CoordinatorHarness, a: UInt64) {
        var (harness, a) = try cluster()
        let (batch, _, _) = try Routing.decode([(a, 1)])
        let (_, directives) = try spill(&harness, a, batch: batch)
        for worker: UInt64 in [1, 2] {
            for (envelope, body) in decodes(to: worker, in: directives) {
                _ = harness.fromWorker(
                    worker,
                    envelope.requestID,
                    .decodeReply(
                        DecodeReply(
                            layer: 0,
                            result: try Routing.output(
                                rows: Array(repeating: Routing.vector(1) + Routing.vector(2), count: body.input.rows),
                                lse: Array(repeating: [0, 0], count: body.input.rows)
                            )
                        )
                    )
                )
            }
        }
        guard harness.instance.sequences[a]?.length == 9, harness.instance.pendingOperations == 0 else {
            throw CoordinatorHarness.Failure(description: "the spill did not complete")
        }
        return (harness, a)
    }

    @Test("after a spill, a decode goes to both shards (k and v to the new tail) and a close to both")
    func laterDecodeAndClose() throws {
        var (harness, a) = try Self.spilled()
        let (batch, _, _) = try Routing.decode([(a, 2)])
        let (_, directives) = harness.fromClient(.decode(batch))
        let earlier = try #require(Self.decodes(to: 1, in: directives).first)
        let tail = try #require(Self.decodes(to: 2, in: directives).first)
        #expect(earlier.1.input.k == nil)
        #expect(tail.1.input.k != nil)
        #expect(earlier.1.entries == [Decode.Entry(sequenceID: a, queryTokens: 2)])
        #expect(tail.1.entries == [Decode.Entry(sequenceID: a, queryTokens: 2)])

        var (closing, later) = try Self.spilled()
        let (closeRequest, sentClose) = closing.fromClient(
            .closeSequence(CloseSequence(sequenceID: later, commit: true))
        )
        let closes = CoordinatorHarness.workerSends(in: sentClose)
        #expect(Set(closes.map(\.0)) == [WorkerID(1), WorkerID(2)])
        #expect(closes.allSatisfy { $0.1.message == .closeSequence(CloseSequence(sequenceID: later, commit: true)) })
        _ = closing.fromWorker(closes[0].0.rawValue, closes[0].1.requestID, .ack(Ack()))
        let closed = closing.fromWorker(closes[1].0.rawValue, closes[1].1.requestID, .ack(Ack()))
        #expect(
            CoordinatorHarness.answers(to: closing.client, in: closed) == [
                Envelope(requestID: closeRequest, message: .ack(Ack()))
            ]
        )
        #expect(closing.instance.sequenceCount == 0)
    }

    @Test("after a spill, a truncation into the first shard cuts it and closes the new one")
    func truncateAfterSpill() throws {
        var (harness, a) = try Self.spilled()
        try harness.truncateIntoFirstShard(a, to: 7)
        #expect(harness.instance.shards(of: a).map(\.worker) == [WorkerID(1)])
        #expect(harness.instance.sequences[a]?.length == 7)
    }

    @Test("a spill no worker can take is answered capacity and the sequence keeps going on its one shard")
    func noWorkerForTheSpill() throws {
        // Worker 2 has no room at all.
        var harness = try CoordinatorHarness { $0.weights.minimumPullPages = 1000 }
        let tokens = CoordinatorHarness.tokens(pages: 2, first: 1)
        try harness.join(1, keys: harness.keys(tokens))
        try harness.join(2, hotPages: 0)
        let (a, worker) = try harness.open(tokens, cachedTokens: 8)
        #expect(worker == 1)
        let (batch, _, _) = try Routing.decode([(a, 1)])
        let (request, sent) = harness.fromClient(.decode(batch))
        let refused = try #require(Self.decodes(to: 1, in: sent).first)
        let answered = harness.fromWorker(1, refused.0.requestID, .errorReply(Self.capacity))
        #expect(CoordinatorHarness.workerSends(in: answered).isEmpty)
        let answer = try #require(CoordinatorHarness.answers(to: harness.client, in: answered).first)
        #expect(answer.requestID == request)
        #expect(CoordinatorHarness.errorCode(answer) == .capacity)
        #expect(harness.instance.shards(of: a).map(\.worker) == [WorkerID(1)])
        #expect(harness.instance.sequences[a]?.length == 8)
        #expect(Self.counter("cluster.spills.refused", &harness) == 1)

        // The only other worker refuses the new shard: capacity too, and its open is not retried
        // on a worker without room.
        var (second, b) = try Self.cluster()
        let (again, _, _) = try Routing.decode([(b, 1)])
        let (secondRequest, secondSent) = second.fromClient(.decode(again))
        let tail = try #require(Self.decodes(to: 1, in: secondSent).first)
        let opening = second.fromWorker(1, tail.0.requestID, .errorReply(Self.capacity))
        let open = try #require(CoordinatorHarness.sent(to: 2, in: opening).first)
        let refusedOpen = second.fromWorker(2, open.requestID, .errorReply(Self.capacity))
        #expect(CoordinatorHarness.workerSends(in: refusedOpen).isEmpty)
        let secondAnswer = try #require(CoordinatorHarness.answers(to: second.client, in: refusedOpen).first)
        #expect(secondAnswer.requestID == secondRequest)
        #expect(CoordinatorHarness.errorCode(secondAnswer) == .capacity)
        #expect(second.instance.shards(of: b).map(\.worker) == [WorkerID(1)])
        #expect(second.instance.pendingOperations == 0)
    }

    @Test("a new shard's open refused capacity is asked of the next worker")
    func openRetriedElsewhere() throws {
        var (harness, a) = try Self.cluster(third: true)
        let (batch, _, _) = try Routing.decode([(a, 1)])
        let (_, sent) = harness.fromClient(.decode(batch))
        let tail = try #require(Self.decodes(to: 1, in: sent).first)
        let opening = harness.fromWorker(1, tail.0.requestID, .errorReply(Self.capacity))
        let (first, open) = try #require(CoordinatorHarness.workerSends(in: opening).first)
        let retried = harness.fromWorker(first.rawValue, open.requestID, .errorReply(Self.capacity))
        let (second, reopen) = try #require(CoordinatorHarness.workerSends(in: retried).first)
        #expect(second != first && second != WorkerID(1))
        let resent = harness.fromWorker(
            second.rawValue,
            reopen.requestID,
            .openSequenceReply(OpenSequenceReply(sequenceID: a, cachedTokens: 8))
        )
        #expect(harness.instance.shards(of: a).map(\.worker) == [WorkerID(1), second])
        #expect(Self.decodes(to: second.rawValue, in: resent).first?.1.input.k != nil)
        #expect(Self.decodes(to: 1, in: resent).first?.1.input.k == nil)
    }

    @Test("an entry crossing a page boundary from inside a page cannot be split and is answered capacity")
    func crossingEntryIsRefused() throws {
        var (harness, a) = try Self.spilled()
        // A has 9 tokens; a 4-token verify would fill its page and need a new one.
        let (batch, _, _) = try Routing.decode([(a, 4)])
        let (request, sent) = harness.fromClient(.decode(batch))
        let earlier = try #require(Self.decodes(to: 1, in: sent).first)
        let tail = try #require(Self.decodes(to: 2, in: sent).first)
        _ = harness.fromWorker(
            1,
            earlier.0.requestID,
            .decodeReply(
                DecodeReply(
                    layer: 0,
                    result: try Routing.output(
                        rows: Array(repeating: Routing.vector(1) + Routing.vector(2), count: 4),
                        lse: Array(repeating: [0, 0], count: 4)
                    )
                )
            )
        )
        let answered = harness.fromWorker(2, tail.0.requestID, .errorReply(Self.capacity))
        #expect(CoordinatorHarness.workerSends(in: answered).isEmpty)
        #expect(
            CoordinatorHarness.answers(to: harness.client, in: answered) == [
                Envelope(requestID: request, message: .errorReply(Self.capacity))
            ]
        )
        #expect(harness.instance.sequences[a]?.length == 9)
    }

    @Test(
        "a dead second-shard worker fails the spilled sequence: its decode in flight and later requests are unavailable"
    )
    func deadSecondShard() throws {
        var (harness, a) = try Self.spilled()
        let (batch, _, _) = try Routing.decode([(a, 1)])
        let (request, _) = harness.fromClient(.decode(batch))
        harness.advance(.seconds(3))
        _ = harness.heartbeat(1)
        let directives = harness.tick()
        let answer = try #require(
            CoordinatorHarness.answers(to: harness.client, in: directives).first { $0.requestID == request }
        )
        #expect(CoordinatorHarness.errorCode(answer) == .unavailable)
        #expect(harness.instance.sequences[a] == nil)
        #expect(
            CoordinatorHarness.sent(to: 1, in: directives).contains {
                $0.message == .closeSequence(CloseSequence(sequenceID: a, commit: false))
            }
        )
        let later = harness.fromClient(.decode(batch))
        #expect(
            CoordinatorHarness.errorCode(CoordinatorHarness.answers(to: harness.client, in: later.directives).first)
                == .unavailable
        )
        #expect(harness.instance.pendingOperations == 0)
    }

    @Test("the new shard's worker dying before it answers the open fails nothing; the batch is answered capacity")
    func deadBeforeOpen() throws {
        var (harness, a) = try Self.cluster()
        let (batch, _, _) = try Routing.decode([(a, 1)])
        let (request, sent) = harness.fromClient(.decode(batch))
        let tail = try #require(Self.decodes(to: 1, in: sent).first)
        let opening = harness.fromWorker(1, tail.0.requestID, .errorReply(Self.capacity))
        #expect(CoordinatorHarness.sent(to: 2, in: opening).count == 1)
        harness.advance(.seconds(3))
        _ = harness.heartbeat(1)
        let directives = harness.tick()
        let answer = try #require(
            CoordinatorHarness.answers(to: harness.client, in: directives).first { $0.requestID == request }
        )
        #expect(CoordinatorHarness.errorCode(answer) == .capacity)
        #expect(harness.instance.shards(of: a).map(\.worker) == [WorkerID(1)])
        #expect(harness.instance.pendingOperations == 0)
    }
}

import CacheProtocol
import Foundation
import Kernels
import Testing

@testable import Coordinator

/// Routing of prefill, decode, truncate and close by shard, and the exact merge of decode parts.
@Suite("CoordinatorRouting")
struct CoordinatorRoutingTests {
    /// Attention of one query row (2 heads, head dim 4, one KV head) over `keys` and `values`
    /// (4 floats each), scale 1/2: output [2 × 4] and lse [2], computed in Double.
    static func attention(q: [Float], keys: [[Float]], values: [[Float]]) -> (output: [Float], lse: [Float]) {
        var output: [Float] = []
        var lse: [Float] = []
        for head in 0..<2 {
            let query = q[(head * 4)..<(head * 4 + 4)].map(Double.init)
            let scores = keys.map { key in zip(query, key.map(Double.init)).reduce(0) { $0 + $1.0 * $1.1 } / 2 }
            let maximum = scores.max() ?? 0
            let total = scores.reduce(0) { $0 + Foundation.exp($1 - maximum) }
            let logSum = maximum + Foundation.log(total)
            for d in 0..<4 {
                output.append(
                    Float(zip(scores, values).reduce(0) { $0 + Foundation.exp($1.0 - logSum) * Double($1.1[d]) })
                )
            }
            lse.append(Float(logSum))
        }
        return (output, lse)
    }

    static func vector(_ seed: Int) -> [Float] { (0..<4).map { Float(sin(Double(seed * 7 + $0) * 1.3)) } }

    /// Workers 1 and 2; A opened on worker 1 then continued on worker 2 from token 8, B on worker
    /// 1, C on worker 2.
    static func shardedCluster() throws -> (harness: CoordinatorHarness, a: UInt64, b: UInt64, c: UInt64) {
        var harness = try CoordinatorHarness { $0.weights.minimumPullPages = 1000 }
        let aTokens = CoordinatorHarness.tokens(pages: 2, first: 1)
        let bTokens = CoordinatorHarness.tokens(pages: 4, first: 100)
        let cTokens = CoordinatorHarness.tokens(pages: 2, first: 200)
        try harness.join(1, keys: harness.keys(aTokens) + harness.keys(bTokens))
        try harness.join(2, keys: harness.keys(cTokens))
        let (a, onA) = try harness.open(aTokens, cachedTokens: 8)
        let (b, onB) = try harness.open(bTokens, cachedTokens: 16)
        let (c, onC) = try harness.open(cTokens, cachedTokens: 8)
        guard onA == 1, onB == 1, onC == 2 else {
            throw CoordinatorHarness.Failure(description: "placed on \(onA), \(onB), \(onC)")
        }
        try harness.instance.continueOnNewShard(a, worker: WorkerID(2), start: 8)
        return (harness, a, b, c)
    }

    static func decode(
        _ entries: [(UInt64, UInt32)],
        withKV: Bool = true
    ) throws -> (Decode, q: [[Float]], k: [[Float]]) {
        let rows = entries.reduce(0) { $0 + Int($1.1) }
        let q = (0..<rows).map { Self.vector(100 + $0) + Self.vector(200 + $0) }
        let k = (0..<rows).map { Self.vector(300 + $0) }
        let input = try AttentionInput(
            q: try WireTensor(f32: q.flatMap { $0 }, shape: [rows, 2, 4]),
            k: withKV ? try WireTensor(f32: k.flatMap { $0 }, shape: [rows, 1, 4]) : nil,
            v: withKV ? try WireTensor(f32: k.map { $0.map { -$0 } }.flatMap { $0 }, shape: [rows, 1, 4]) : nil
        )
        return (
            try Decode(
                layer: 0,
                entries: entries.map { Decode.Entry(sequenceID: $0.0, queryTokens: $0.1) },
                input: input
            ), q, k
        )
    }

    static func output(rows: [[Float]], lse: [[Float]]) throws -> AttentionOutput {
        try AttentionOutput(
            output: try WireTensor(f32: rows.flatMap { $0 }, shape: [rows.count, 2, 4]),
            lse: try WireTensor(f32: lse.flatMap { $0 }, shape: [lse.count, 2])
        )
    }

    @Test(
        "a decode batch is split by worker: the tail gets its entries with k and v, earlier shards the queries alone; answers in any order are merged exactly, rows in the client's order"
    )
    func splitAndMerge() throws {
        var (harness, a, b, c) = try Self.shardedCluster()
        let (batch, q, k) = try Self.decode([(a, 1), (b, 1), (c, 2)])
        let (request, directives) = harness.fromClient(.decode(batch))
        let toOne = CoordinatorHarness.sent(to: 1, in: directives)
        let toTwo = CoordinatorHarness.sent(to: 2, in: directives)
        #expect(toOne.count == 2)
        #expect(toTwo.count == 1)
        var earlierShard: (Envelope, Decode)?
        var tailOnOne: (Envelope, Decode)?
        for envelope in toOne {
            guard case .decode(let part) = envelope.message else { continue }
            if part.input.k == nil { earlierShard = (envelope, part) } else { tailOnOne = (envelope, part) }
        }
        let (earlierEnvelope, earlier) = try #require(earlierShard)
        let (tailOneEnvelope, tailOne) = try #require(tailOnOne)
        let tailTwoEnvelope = try #require(toTwo.first)
        guard case .decode(let tailTwo) = tailTwoEnvelope.message else {
            Issue.record("expected a decode for worker 2")
            return
        }
        // Worker 1 holds A's first shard (queries only) and B's tail (with k and v).
        #expect(earlier.entries == [Decode.Entry(sequenceID: a, queryTokens: 1)])
        #expect(try earlier.input.q.f32Values() == q[0])
        #expect(tailOne.entries == [Decode.Entry(sequenceID: b, queryTokens: 1)])
        #expect(try tailOne.input.q.f32Values() == q[1])
        #expect(try tailOne.input.k?.f32Values() == k[1])
        // Worker 2 holds A's and C's tails: one request with both, in the client's order, one-token
        // and two-token entries together.
        #expect(
            tailTwo.entries == [
                Decode.Entry(sequenceID: a, queryTokens: 1), Decode.Entry(sequenceID: c, queryTokens: 2),
            ]
        )
        #expect(try tailTwo.input.q.f32Values() == q[0] + q[2] + q[3])
        #expect(try tailTwo.input.k?.f32Values() == k[0] + k[2] + k[3])
        #expect(try tailTwo.input.v?.f32Values() == (k[0] + k[2] + k[3]).map { -$0 })

        // A's keys: 8 on worker 1 (made up), then the appended one on worker 2.
        let firstKeys = (0..<8).map { Self.vector(500 + $0) }
        let firstValues = (0..<8).map { Self.vector(600 + $0) }
        let tailKeys = [k[0]]
        let tailValues = [k[0].map { -$0 }]
        let partial1 = Self.attention(q: q[0], keys: firstKeys, values: firstValues)
        let partial2 = Self.attention(q: q[0], keys: tailKeys, values: tailValues)
        let whole = Self.attention(q: q[0], keys: firstKeys + tailKeys, values: firstValues + tailValues)
        let bRow = (Self.vector(700) + Self.vector(701), [Float(0.5), -1.5])
        let cRows = [
            (Self.vector(800) + Self.vector(801), [Float(2), 3]),
            (Self.vector(802) + Self.vector(803), [Float(-4), 5]),
        ]

        // Answers arrive in reverse order of sending.
        let fromTwo = harness.fromWorker(
            2,
            tailTwoEnvelope.requestID,
            .decodeReply(
                DecodeReply(
                    layer: 0,
                    result: try Self.output(
                        rows: [partial2.output, cRows[0].0, cRows[1].0],
                        lse: [partial2.lse, cRows[0].1, cRows[1].1]
                    )
                )
            )
        )
        #expect(fromTwo.isEmpty)
        _ = harness.fromWorker(
            1,
            tailOneEnvelope.requestID,
            .decodeReply(
                DecodeReply(
                    layer: 0,
                    result: try Self.output(rows: [bRow.0], lse: [bRow.1])
                )
            )
        )
        let last = harness.fromWorker(
            1,
            earlierEnvelope.requestID,
            .decodeReply(
                DecodeReply(
                    layer: 0,
                    result: try Self.output(rows: [partial1.output], lse: [partial1.lse])
                )
            )
        )
        guard case .mergeDecode(let job)? = last.first, last.count == 1 else {
            Issue.record("expected one merge job, got \(last)")
            return
        }
        #expect(job.client == harness.client)
        let reply = job.reply()
        #expect(reply.requestID == request)
        guard case .decodeReply(let merged) = reply.message else {
            Issue.record("the merge failed: \(reply.message)")
            return
        }
        let output = try merged.result.output.f32Values()
        let lse = try merged.result.lse.f32Values()
        #expect(merged.result.output.shape == [4, 2, 4])
        for index in 0..<8 { #expect(abs(output[index] - whole.output[index]) < 1e-5) }
        for head in 0..<2 { #expect(abs(lse[head] - whole.lse[head]) < 1e-5) }
        // The same merge through AttentionMerge directly.
        let direct = try AttentionMerge.merge(
            [
                AttentionResult(output: partial1.output, logSumExp: partial1.lse),
                AttentionResult(output: partial2.output, logSumExp: partial2.lse),
            ],
            headDim: 4
        )
        #expect(Array(output[0..<8]) == direct.output)
        // B's row, then C's two rows, copied as they came.
        #expect(Array(output[8..<16]) == bRow.0)
        #expect(Array(output[16..<32]) == cRows[0].0 + cRows[1].0)
        #expect(Array(lse[2..<8]) == bRow.1 + cRows[0].1 + cRows[1].1)
        // Layer 0 grew every sequence by its query tokens.
        #expect(harness.instance.sequences[a]?.length == 9)
        #expect(harness.instance.sequences[b]?.length == 17)
        #expect(harness.instance.sequences[c]?.length == 10)
        #expect(harness.instance.pendingOperations == 0)
    }

    @Test("a batch on one worker with one shard per sequence is answered with the worker's reply as it is")
    func passThrough() throws {
        var (harness, _, b, _) = try Self.shardedCluster()
        let dTokens = CoordinatorHarness.tokens(pages: 8, first: 300)
        _ = harness.event(1, .stored, harness.keys(dTokens))
        let d = try harness.open(dTokens, cachedTokens: 32)
        #expect(d.worker == 1)
        let (batch, _, _) = try Self.decode([(b, 1), (d.sequence, 3)])
        let (request, directives) = harness.fromClient(.decode(batch))
        let sends = CoordinatorHarness.sent(to: 1, in: directives)
        #expect(sends.count == 1)
        let envelope = try #require(sends.first)
        #expect(envelope.message == .decode(batch))
        let reply = DecodeReply(
            layer: 0,
            result: try Self.output(
                rows: (0..<4).map { Self.vector($0) + Self.vector($0 + 9) },
                lse: (0..<4).map { [Float($0), 1] }
            )
        )
        let answered = harness.fromWorker(1, envelope.requestID, .decodeReply(reply))
        #expect(answered == [.answerClient(harness.client, Envelope(requestID: request, message: .decodeReply(reply)))])
    }

    @Test("a layer-0 decode without k and v appends nothing: the sequence's length stays")
    func queryOnlyKeepsLength() throws {
        var (harness, _, b, _) = try Self.shardedCluster()
        let before = harness.instance.sequences[b]?.length
        let (batch, _, _) = try Self.decode([(b, 2)], withKV: false)
        let (_, directives) = harness.fromClient(.decode(batch))
        let envelope = try #require(CoordinatorHarness.sent(to: 1, in: directives).first)
        let reply = DecodeReply(
            layer: 0,
            result: try Self.output(
                rows: [Self.vector(1) + Self.vector(2), Self.vector(3) + Self.vector(4)],
                lse: [[0, 1], [1, 0]]
            )
        )
        _ = harness.fromWorker(1, envelope.requestID, .decodeReply(reply))
        #expect(harness.instance.pendingOperations == 0)
        #expect(harness.instance.sequences[b]?.length == before)
    }

    @Test(
        "when the tail refuses a batch part with capacity, sequences nothing changed keep going and those another part changed fail"
    )
    func partlyApplied() throws {
        var (harness, a, b, c) = try Self.shardedCluster()
        let (batch, _, _) = try Self.decode([(a, 1), (b, 1), (c, 2)])
        let (request, directives) = harness.fromClient(.decode(batch))
        for envelope in CoordinatorHarness.sent(to: 1, in: directives) {
            guard case .decode(let part) = envelope.message else { continue }
            let rows = part.input.rows
            _ = harness.fromWorker(
                1,
                envelope.requestID,
                .decodeReply(
                    DecodeReply(
                        layer: 0,
                        result: try Self.output(
                            rows: Array(repeating: Self.vector(1) + Self.vector(2), count: rows),
                            lse: Array(repeating: [0, 0], count: rows)
                        )
                    )
                )
            )
        }
        let tail = try #require(CoordinatorHarness.sent(to: 2, in: directives).first)
        let done = harness.fromWorker(2, tail.requestID, .errorReply(ErrorReply(code: .capacity, message: "no pages")))
        let answer = try #require(CoordinatorHarness.answers(to: harness.client, in: done).first)
        #expect(answer.requestID == request)
        #expect(CoordinatorHarness.errorCode(answer) == .unavailable)
        // B's tail appended on worker 1: B failed. A and C (worker 2 refused) are unchanged.
        #expect(harness.instance.sequences[b] == nil)
        #expect(harness.instance.sequences[a]?.length == 8)
        #expect(harness.instance.sequences[c]?.length == 8)
        // A batch refused whole by its only appending worker is answered with the refusal (a
        // `capacity` refusal at a page boundary would spill instead: CoordinatorSpill).
        let (again, _, _) = try Self.decode([(c, 1)])
        let (secondRequest, second) = harness.fromClient(.decode(again))
        let only = try #require(CoordinatorHarness.sent(to: 2, in: second).first)
        let refused = harness.fromWorker(
            2,
            only.requestID,
            .errorReply(ErrorReply(code: .badRequest, message: "a non-finite row"))
        )
        #expect(
            CoordinatorHarness.answers(to: harness.client, in: refused).first
                == Envelope(
                    requestID: secondRequest,
                    message: .errorReply(ErrorReply(code: .badRequest, message: "a non-finite row"))
                )
        )
        #expect(harness.instance.sequences[c] != nil)
    }

    @Test("an empty batch, or one naming an unknown or repeated sequence, is refused whole and nothing is sent")
    func refusedBatches() throws {
        var (harness, a, _, _) = try Self.shardedCluster()
        let (unknown, _, _) = try Self.decode([(a, 1), (424_242, 1)])
        let first = harness.fromClient(.decode(unknown))
        #expect(
            CoordinatorHarness.errorCode(CoordinatorHarness.answers(to: harness.client, in: first.directives).first)
                == .unknownSequence
        )
        #expect(CoordinatorHarness.workerSends(in: first.directives).isEmpty)
        let empty = try Decode(
            layer: 0,
            entries: [],
            input: try AttentionInput(q: try WireTensor(f32: [], shape: [0, 2, 4]), k: nil, v: nil)
        )
        let none = harness.fromClient(.decode(empty))
        #expect(
            CoordinatorHarness.errorCode(CoordinatorHarness.answers(to: harness.client, in: none.directives).first)
                == .badRequest
        )
        #expect(CoordinatorHarness.workerSends(in: none.directives).isEmpty)
        let (twice, _, _) = try Self.decode([(a, 1), (a, 1)])
        let second = harness.fromClient(.decode(twice))
        #expect(
            CoordinatorHarness.errorCode(CoordinatorHarness.answers(to: harness.client, in: second.directives).first)
                == .badRequest
        )
        #expect(CoordinatorHarness.workerSends(in: second.directives).isEmpty)
    }

    @Test(
        "prefill of a one-shard sequence goes to its worker as it came; truncate cuts the shards past the new end; close goes to every shard"
    )
    func prefillTruncateClose() throws {
        var (harness, a, b, _) = try Self.shardedCluster()
        let prefill = try CoordinatorFailureTests.prefill(b, start: 16, rows: 2)
        let (prefillRequest, sentPrefill) = harness.fromClient(prefill)
        #expect(CoordinatorHarness.sent(to: 2, in: sentPrefill).isEmpty)
        let forwarded = try #require(CoordinatorHarness.sent(to: 1, in: sentPrefill).first)
        #expect(forwarded.message == prefill)
        let prefillReply = PrefillReply(
            sequenceID: b,
            layer: 0,
            result: try Self.output(
                rows: [Self.vector(1) + Self.vector(2), Self.vector(3) + Self.vector(4)],
                lse: [[0, 0], [1, 1]]
            )
        )
        let answered = harness.fromWorker(1, forwarded.requestID, .prefillReply(prefillReply))
        #expect(
            CoordinatorHarness.answers(to: harness.client, in: answered) == [
                Envelope(requestID: prefillRequest, message: .prefillReply(prefillReply))
            ]
        )
        #expect(harness.instance.sequences[b]?.length == 18)

        try harness.truncateIntoFirstShard(a, to: 6)
        #expect(harness.instance.shards(of: a).map(\.worker) == [WorkerID(1)])
        #expect(harness.instance.sequences[a]?.length == 6)

        try harness.instance.continueOnNewShard(a, worker: WorkerID(2), start: 8)
        let (closeRequest, sentClose) = harness.fromClient(.closeSequence(CloseSequence(sequenceID: a, commit: true)))
        let closes = CoordinatorHarness.workerSends(in: sentClose)
        #expect(Set(closes.map(\.0)) == [WorkerID(1), WorkerID(2)])
        #expect(closes.allSatisfy { $0.1.message == .closeSequence(CloseSequence(sequenceID: a, commit: true)) })
        #expect(harness.instance.sequences[a] == nil)
        _ = harness.fromWorker(closes[0].0.rawValue, closes[0].1.requestID, .ack(Ack()))
        let closed = harness.fromWorker(closes[1].0.rawValue, closes[1].1.requestID, .ack(Ack()))
        #expect(
            CoordinatorHarness.answers(to: harness.client, in: closed) == [
                Envelope(requestID: closeRequest, message: .ack(Ack()))
            ]
        )
    }

    @Test("a dead worker holding an earlier shard fails the sequence and answers its decode at once")
    func deathOfEarlierShard() throws {
        var (harness, a, _, c) = try Self.shardedCluster()
        let (batch, _, _) = try Self.decode([(a, 1)])
        let (request, _) = harness.fromClient(.decode(batch))
        harness.advance(.seconds(3))
        _ = harness.heartbeat(2)
        let directives = harness.tick()
        let answer = try #require(
            CoordinatorHarness.answers(to: harness.client, in: directives).first { $0.requestID == request }
        )
        #expect(CoordinatorHarness.errorCode(answer) == .unavailable)
        #expect(harness.instance.sequences[a] == nil)
        #expect(harness.instance.sequences[c] != nil)
        // A's surviving shard on worker 2 is closed.
        #expect(
            CoordinatorHarness.sent(to: 2, in: directives).contains {
                $0.message == .closeSequence(CloseSequence(sequenceID: a, commit: false))
            }
        )
        #expect(harness.instance.pendingOperations == 0)
    }
}

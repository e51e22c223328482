import CacheProtocol
import Testing

@testable import Coordinator

/// A coordinator that starts rebuilds its sequence table from the workers' shard lists: the
/// recovery window, requests held meanwhile, sequences joined across workers, and shards it does
/// not know closed.
@Suite("CoordinatorRecovery")
struct CoordinatorRecoveryTests {
    /// A coordinator with the default recovery window (4 s: silence limit plus one heartbeat) and
    /// new ids starting at 1000.
    static func restarted() throws -> CoordinatorHarness {
        try CoordinatorHarness {
            $0.recoveryWindow = nil
            $0.firstSequenceID = 1000
        }
    }

    /// A shard of sequence `id` in namespace `t` as a worker reports it.
    static func shard(
        _ id: UInt64,
        start: UInt32 = 0,
        tokens: UInt32,
        everyLayer: UInt32? = nil,
        prompt: UInt32? = nil,
        sealed: Bool = false
    ) -> ShardListReply.Shard {
        ShardListReply.Shard(
            sequenceID: id,
            namespace: "t",
            shardStart: start,
            layerZeroTokens: tokens,
            everyLayerTokens: everyLayer ?? tokens,
            promptTokens: prompt ?? start + tokens,
            sealed: sealed
        )
    }

    /// The client's answers to `request` in `directives`.
    static func answer(
        to request: UInt64,
        in directives: [CoordinatorDirective],
        harness: CoordinatorHarness
    )
        -> Envelope?
    {
        CoordinatorHarness.answers(to: harness.client, in: directives).first { $0.requestID == request }
    }

    @Test("every accepted registration asks the worker for its open shards, after the snapshot")
    func registrationAsksForShards() throws {
        var harness = try CoordinatorHarness()
        let directives = try harness.register(3)
        let sent = CoordinatorHarness.sent(to: 3, in: directives).map(\.message)
        #expect(sent == [.snapshotRequest(SnapshotRequest()), .shardListRequest(ShardListRequest())])
        #expect(harness.instance.pendingWorkerRequests == 2)
    }

    @Test("a worker of minor version 0, which does not know ShardListRequest, is asked for a snapshot only")
    func minorVersionZeroNotAsked() throws {
        var harness = try CoordinatorHarness()
        let directives = try harness.registerAtMinorVersionZero(4)
        #expect(CoordinatorHarness.sent(to: 4, in: directives).map(\.message) == [.snapshotRequest(SnapshotRequest())])
    }

    @Test(
        "a request for an unknown sequence is held during the window and routed once a shard list brings the sequence back with its id, worker and length"
    )
    func heldUntilRecovered() throws {
        var harness = try Self.restarted()
        let (held, first) = harness.fromClient(try CoordinatorFailureTests.prefill(7, start: 10))
        #expect(first.isEmpty)
        #expect(harness.instance.isRecovering)
        #expect(harness.instance.heldRequests == 1)
        // Worker 1 holds 10 tokens of sequence 7 (not a page boundary: nothing can follow it).
        let joined = try harness.join(1, shards: [Self.shard(7, tokens: 10, prompt: 9)])
        #expect(joined.contains(.notice(.sequenceRecovered(7, workers: [WorkerID(1)], length: 10))))
        #expect(harness.instance.shards(of: 7).map(\.worker) == [WorkerID(1)])
        let forwarded = try #require(CoordinatorHarness.sent(to: 1, in: joined).first)
        guard case .prefill(let prefill) = forwarded.message else {
            Issue.record("expected the held prefill, got \(forwarded.message.type)")
            return
        }
        #expect(prefill.sequenceID == 7 && prefill.startPosition == 10)
        let output = try CoordinatorRoutingTests.output(
            rows: [CoordinatorRoutingTests.vector(1) + CoordinatorRoutingTests.vector(2)],
            lse: [[0, 0]]
        )
        let replied = harness.fromWorker(
            1,
            forwarded.requestID,
            .prefillReply(PrefillReply(sequenceID: 7, layer: 0, result: output))
        )
        #expect(
            Self.answer(to: held, in: replied, harness: harness)?.message
                == .prefillReply(PrefillReply(sequenceID: 7, layer: 0, result: output))
        )
        // The recovered sequence counts in the worker's load: 11 tokens, 3 pages of 4.
        let stats = Dictionary(
            uniqueKeysWithValues: harness.instance.statsReply(at: harness.now).counters.map { ($0.name, $0.value) }
        )
        #expect(stats["worker.1.sequences"] == 1)
        #expect(stats["worker.1.load_tokens"] == 12)
        #expect(stats["cluster.sequences.recovered"] == 1)
        #expect(stats["cluster.requests.held"] == 1)
        // New ids start past the recovered one even when the configured first id is lower.
        var low = try CoordinatorHarness {
            $0.recoveryWindow = nil
            $0.firstSequenceID = 5
        }
        try low.join(1, shards: [Self.shard(7, tokens: 10)])
        let (opened, _) = try low.open(CoordinatorHarness.tokens(pages: 1))
        #expect(opened == 8)
    }

    @Test(
        "a sequence spilled over two workers is rebuilt once its unsealed tail is reported; at the window's end a sealed tail without its successor and a gap fail, unknown ids are answered"
    )
    func joinedAcrossWorkersAtWindowEnd() throws {
        var harness = try Self.restarted()
        // Sequence 20: worker 1 holds tokens 0..<8 (sealed: it went on elsewhere), worker 2 8..<12
        // (the tail, on a page boundary but not sealed). Sequence 21: worker 2 holds 8..<9, no one
        // holds its start. Sequence 22: worker 1 holds 0..<8, sealed, and no one reports the rest.
        let (decodeRequest, first) = harness.fromClient(.decode(try CoordinatorRoutingTests.decode([(20, 1)]).0))
        #expect(first.isEmpty)
        let (unknownRequest, _) = harness.fromClient(.truncate(Truncate(sequenceID: 99, length: 1)))
        let (gapRequest, _) = harness.fromClient(.truncate(Truncate(sequenceID: 21, length: 8)))
        let (sealedRequest, _) = harness.fromClient(.truncate(Truncate(sequenceID: 22, length: 4)))
        try harness.join(2, shards: [Self.shard(20, start: 8, tokens: 4), Self.shard(21, start: 8, tokens: 1)])
        #expect(harness.instance.shards(of: 20).isEmpty)
        let joined = try harness.join(
            1,
            shards: [
                Self.shard(20, tokens: 8, prompt: 8, sealed: true), Self.shard(22, tokens: 8, prompt: 8, sealed: true),
            ]
        )
        // 20 is whole at once: its held decode goes to both shards, worker 2 (the tail) with k
        // and v, worker 1 without.
        #expect(harness.instance.shards(of: 20).map(\.worker) == [WorkerID(1), WorkerID(2)])
        #expect(harness.instance.shards(of: 20).map(\.start) == [0, 8])
        let toOne = CoordinatorHarness.sent(to: 1, in: joined).compactMap { envelope -> Decode? in
            if case .decode(let part) = envelope.message { part } else { nil }
        }
        let toTwo = CoordinatorHarness.sent(to: 2, in: joined).compactMap { envelope -> Decode? in
            if case .decode(let part) = envelope.message { part } else { nil }
        }
        #expect(toOne.count == 1 && toTwo.count == 1)
        #expect(toOne.first?.input.k == nil && toTwo.first?.input.k != nil)
        #expect(Self.answer(to: decodeRequest, in: joined, harness: harness) == nil)
        #expect(harness.instance.heldRequests == 3)
        // Still open just before the window's 4 s.
        harness.advance(.milliseconds(3900))
        _ = harness.heartbeat(1)
        _ = harness.heartbeat(2)
        #expect(CoordinatorHarness.answers(to: harness.client, in: harness.tick()).isEmpty)
        harness.advance(.milliseconds(100))
        let closed = harness.tick()
        #expect(!harness.instance.isRecovering)
        #expect(closed.contains(.notice(.recoveryEnded(recovered: 0, failed: 2, heldRequests: 1))))
        // 21's and 22's shards are closed without commit; their truncations are answered unavailable.
        #expect(
            CoordinatorHarness.sent(to: 2, in: closed).contains {
                $0.message == .closeSequence(CloseSequence(sequenceID: 21, commit: false))
            }
        )
        #expect(
            CoordinatorHarness.sent(to: 1, in: closed).contains {
                $0.message == .closeSequence(CloseSequence(sequenceID: 22, commit: false))
            }
        )
        #expect(CoordinatorHarness.errorCode(Self.answer(to: gapRequest, in: closed, harness: harness)) == .unavailable)
        #expect(
            CoordinatorHarness.errorCode(Self.answer(to: sealedRequest, in: closed, harness: harness)) == .unavailable
        )
        #expect(
            CoordinatorHarness.errorCode(Self.answer(to: unknownRequest, in: closed, harness: harness))
                == .unknownSequence
        )
        // Requests after the window are answered at once.
        let (late, after) = harness.fromClient(.truncate(Truncate(sequenceID: 98, length: 1)))
        #expect(CoordinatorHarness.errorCode(Self.answer(to: late, in: after, harness: harness)) == .unknownSequence)
    }

    @Test("a worker that dies during the window fails the sequences being rebuilt with a shard on it")
    func deathDuringWindow() throws {
        var harness = try Self.restarted()
        // Sequence 30 went on from worker 1 (sealed at 8) to worker 2, whose tail ends on a page
        // boundary and is itself sealed: a third shard should follow, so 30 waits.
        try harness.join(1, shards: [Self.shard(30, tokens: 8, sealed: true)])
        try harness.join(2, shards: [Self.shard(30, start: 8, tokens: 4, sealed: true)])
        let (request, _) = harness.fromClient(.truncate(Truncate(sequenceID: 30, length: 9)))
        harness.advance(.seconds(3))
        _ = harness.heartbeat(1)
        let died = harness.tick()
        #expect(harness.instance.state(of: WorkerID(2)) == .dead(since: harness.now))
        #expect(
            CoordinatorHarness.sent(to: 1, in: died).map(\.message) == [
                .closeSequence(CloseSequence(sequenceID: 30, commit: false))
            ]
        )
        #expect(CoordinatorHarness.errorCode(Self.answer(to: request, in: died, harness: harness)) == .unavailable)
        #expect(harness.instance.isRecovering)
    }

    @Test("a held request is answered unavailable at its answer bound when the window outlasts it")
    func heldUntilItsBound() throws {
        var harness = try CoordinatorHarness {
            $0.recoveryWindow = nil
            $0.answerBound = .seconds(5)
        }
        // Worker 1 registers and never answers its shard list: the window waits for it.
        _ = try harness.register(1)
        let (request, _) = harness.fromClient(.closeSequence(CloseSequence(sequenceID: 40, commit: false)))
        var answer: Envelope?
        var elapsed = Duration.zero
        while answer == nil, elapsed < .seconds(10) {
            harness.advance(.milliseconds(100))
            elapsed += .milliseconds(100)
            _ = harness.heartbeat(1)
            answer = Self.answer(to: request, in: harness.tick(), harness: harness)
        }
        #expect(elapsed == .seconds(5))
        #expect(CoordinatorHarness.errorCode(answer) == .unavailable)
        #expect(harness.instance.isRecovering)
    }

    @Test(
        "a held request routed late keeps the deadline of its arrival: a worker that never answers has it answered then"
    )
    func heldKeepsItsDeadline() throws {
        var harness = try Self.restarted()
        let arrival = harness.now
        let (held, _) = harness.fromClient(try CoordinatorFailureTests.prefill(7, start: 10))
        harness.advance(.seconds(2))
        _ = try harness.join(1, shards: [Self.shard(7, tokens: 10, prompt: 9)])
        #expect(harness.instance.heldRequests == 0)
        // Worker 1 never answers the prefill it was sent.
        var answer: Envelope?
        while answer == nil, harness.now < arrival.advanced(by: .seconds(60)) {
            harness.advance(.milliseconds(100))
            _ = harness.heartbeat(1)
            answer = Self.answer(to: held, in: harness.tick(), harness: harness)
        }
        #expect(CoordinatorHarness.errorCode(answer) == .unavailable)
        // Within answerBound of its arrival plus one tick, not of the moment it was routed.
        #expect(harness.now <= arrival.advanced(by: harness.instance.configuration.answerBound + .milliseconds(100)))
    }

    @Test(
        "outside the window, a worker that was declared dead and comes back has the shards of its failed sequences closed without commit"
    )
    func staleShardsClosed() throws {
        var (harness, onOne, onTwo) = try CoordinatorFailureTests.twoWorkers()
        harness.advance(.seconds(3))
        _ = harness.heartbeat(2)
        _ = harness.tick()
        #expect(harness.instance.state(of: WorkerID(1)) == .dead(since: harness.now))
        // Worker 1 registers again and still holds its failed sequence's shard.
        let registered = try harness.join(1, shards: [Self.shard(onOne, tokens: 8)])
        #expect(
            CoordinatorHarness.sent(to: 1, in: registered).map(\.message) == [
                .closeSequence(CloseSequence(sequenceID: onOne, commit: false))
            ]
        )
        #expect(registered.contains(.notice(.staleShardClosed(onOne, worker: WorkerID(1)))))
        // A new worker reporting a shard of a sequence the table holds elsewhere, and one of an id
        // never given, has both closed; the sequence on worker 2 is untouched.
        let joined = try harness.join(3, shards: [Self.shard(onTwo, tokens: 8), Self.shard(77, tokens: 3)])
        #expect(
            CoordinatorHarness.sent(to: 3, in: joined).map(\.message) == [
                .closeSequence(CloseSequence(sequenceID: onTwo, commit: false)),
                .closeSequence(CloseSequence(sequenceID: 77, commit: false)),
            ]
        )
        #expect(harness.instance.shards(of: onTwo).map(\.worker) == [WorkerID(2)])
        #expect(harness.instance.sequenceCount == 1)
    }
}

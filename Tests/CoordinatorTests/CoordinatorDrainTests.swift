import CacheProtocol
import Kernels
import Testing

@testable import Coordinator

/// A client's `Drain`: the worker's shards move to other workers (`AdoptShard`), requests on a
/// moving sequence are held and served after its move, the worker's cached pages are pulled, and
/// the worker is told to leave.
@Suite("CoordinatorDrain")
struct CoordinatorDrainTests {
    typealias Routing = CoordinatorRoutingTests
    typealias Spill = CoordinatorSpillTests

    /// Workers 1 and 2 (and 3 when `third`); sequence A opened on worker 1, which holds its two
    /// prompt pages.
    static func cluster(
        third: Bool = false,
        configure: (inout CoordinatorConfiguration) -> Void = { _ in }
    ) throws -> (harness: CoordinatorHarness, a: UInt64, keys: [PrefixKey]) {
        var harness = try CoordinatorHarness {
            $0.weights.minimumPullPages = 1000
            configure(&$0)
        }
        let tokens = CoordinatorHarness.tokens(pages: 2, first: 1)
        let keys = harness.keys(tokens)
        try harness.join(1, keys: keys)
        try harness.join(2)
        if third { try harness.join(3) }
        let (a, worker) = try harness.open(tokens, cachedTokens: 8)
        guard worker == 1 else { throw CoordinatorHarness.Failure(description: "A was placed on \(worker)") }
        return (harness, a, keys)
    }

    /// The `AdoptShard`s in `directives`, with the worker each goes to.
    static func adoptions(in directives: [CoordinatorDirective]) -> [(worker: UInt64, Envelope, AdoptShard)] {
        CoordinatorHarness.workerSends(in: directives).compactMap { worker, envelope in
            if case .adoptShard(let body) = envelope.message { (worker.rawValue, envelope, body) } else { nil }
        }
    }

    /// Starts draining worker 1 and checks the client's immediate `Ack`.
    static func startDrain(
        _ harness: inout CoordinatorHarness,
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> [CoordinatorDirective] {
        let (request, directives) = harness.fromClient(.drain(Drain(workerID: 1)))
        #expect(
            CoordinatorHarness.answers(to: harness.client, in: directives)
                == [Envelope(requestID: request, message: .ack(Ack()))],
            sourceLocation: sourceLocation
        )
        #expect(harness.instance.state(of: WorkerID(1)) == .draining, sourceLocation: sourceLocation)
        return directives
    }

    @Test(
        "drain moves the shard to another worker, holds a decode on it until the move, closes the old shard, pulls the cached pages, then tells the worker to leave"
    )
    func handOver() throws {
        var (harness, a, keys) = try Self.cluster()
        let started = Self.startDrain(&harness)
        let adoption = try #require(Self.adoptions(in: started).first)
        #expect(adoption.worker == 2)
        #expect(
            adoption.2
                == AdoptShard(
                    sequenceID: a,
                    namespace: "t",
                    shardStart: 0,
                    peerEndpoint: CoordinatorHarness.endpoint(1)
                )
        )
        #expect(CoordinatorHarness.sent(to: 1, in: started).isEmpty)

        // A decode of A while it moves is held: nothing is sent, nothing answered.
        let (batch, _, _) = try Routing.decode([(a, 1)])
        let (decodeRequest, held) = harness.fromClient(.decode(batch))
        #expect(CoordinatorHarness.workerSends(in: held).isEmpty)
        #expect(CoordinatorHarness.answers(to: harness.client, in: held).isEmpty)
        // Nothing new is placed on the draining worker.
        let other = CoordinatorHarness.tokens(pages: 1, first: 500)
        let (_, placed) = harness.fromClient(
            .openSequence(OpenSequence(sequenceID: 0, namespace: "t", shardStart: 0, tokens: other))
        )
        #expect(CoordinatorHarness.sent(to: 1, in: placed).isEmpty)
        #expect(!CoordinatorHarness.sent(to: 2, in: placed).isEmpty)

        let moved = harness.fromWorker(
            2,
            adoption.1.requestID,
            .adoptShardReply(AdoptShardReply(sequenceID: a, length: 8, pages: 2, bytes: 1234))
        )
        #expect(harness.instance.shards(of: a).map(\.worker) == [WorkerID(2)])
        let toOld = CoordinatorHarness.sent(to: 1, in: moved)
        #expect(toOld.map(\.message) == [.closeSequence(CloseSequence(sequenceID: a, commit: false))])
        let toNew = CoordinatorHarness.sent(to: 2, in: moved)
        #expect(toNew.contains { $0.message == .decode(batch) }, "the held decode goes to the new worker")
        let pull = try #require(
            toNew.compactMap { envelope -> (Envelope, PullPages)? in
                if case .pullPages(let body) = envelope.message { (envelope, body) } else { nil }
            }.first
        )
        #expect(pull.1.peerEndpoint == CoordinatorHarness.endpoint(1))
        #expect(Set(pull.1.keys) == Set(keys))

        // The held decode is answered as any other.
        let decode = try #require(toNew.first { $0.message == .decode(batch) })
        let answer = DecodeReply(
            layer: 0,
            result: try Routing.output(rows: [[Float](repeating: 1, count: 8)], lse: [[0, 0]])
        )
        let answered = harness.fromWorker(2, decode.requestID, .decodeReply(answer))
        #expect(
            CoordinatorHarness.answers(to: harness.client, in: answered)
                == [Envelope(requestID: decodeRequest, message: .decodeReply(answer))]
        )

        let pulled = harness.fromWorker(2, pull.0.requestID, .pullPagesReply(PullPagesReply(pulled: [true, true])))
        let leave = try #require(CoordinatorHarness.sent(to: 1, in: pulled).first)
        #expect(leave.message == .drain(Drain(workerID: 1)))
        _ = harness.fromWorker(1, leave.requestID, .ack(Ack()))
        #expect(Spill.counter("cluster.drain.moved", &harness) == 1)
        #expect(Spill.counter("cluster.drain.bytes", &harness) == 1234)
        #expect(Spill.counter("cluster.drain.pages", &harness) == 2)
        #expect(Spill.counter("cluster.drain.pulled", &harness) == 2)
        #expect(Spill.counter("cluster.drain.held", &harness) == 1)
        #expect(Spill.counter("cluster.drains.completed", &harness) == 1)
        #expect(Spill.counter("cluster.drains", &harness) == 0)
    }

    @Test(
        "an open in flight to the drained worker when the drain starts moves too once answered, before the worker is told to leave"
    )
    func openInFlightMoves() throws {
        var (harness, a, keys) = try Self.cluster()
        // Worker 2 reports many sequences the table does not know: B goes to worker 1.
        _ = harness.heartbeat(2, liveSequences: 100)
        // B's prompt is A's: placed on worker 1, its holder; the open is not answered yet.
        let (_, placed) = harness.fromClient(
            .openSequence(
                OpenSequence(
                    sequenceID: 0,
                    namespace: "t",
                    shardStart: 0,
                    tokens: CoordinatorHarness.tokens(pages: 2, first: 1)
                )
            )
        )
        let open = try #require(CoordinatorHarness.sent(to: 1, in: placed).first)
        guard case .openSequence(let body) = open.message else {
            Issue.record("worker 1 got \(open.message.type)")
            return
        }
        let b = body.sequenceID
        let started = Self.startDrain(&harness)
        let first = try #require(Self.adoptions(in: started).first)
        #expect(first.2.sequenceID == a)
        let moved = harness.fromWorker(
            2,
            first.1.requestID,
            .adoptShardReply(AdoptShardReply(sequenceID: a, length: 8, pages: 2, bytes: 10))
        )
        // B's open is still awaited: no pull of the cached pages yet, no leave.
        #expect(
            !CoordinatorHarness.workerSends(in: moved).contains {
                if case .pullPages = $0.1.message { true } else { false }
            }
        )
        let opened = harness.fromWorker(
            1,
            open.requestID,
            .openSequenceReply(OpenSequenceReply(sequenceID: b, cachedTokens: 8))
        )
        let second = try #require(Self.adoptions(in: opened).first)
        #expect(second.2.sequenceID == b)
        let movedB = harness.fromWorker(
            2,
            second.1.requestID,
            .adoptShardReply(AdoptShardReply(sequenceID: b, length: 8, pages: 2, bytes: 10))
        )
        #expect(harness.instance.shards(of: b).map(\.worker) == [WorkerID(2)])
        #expect(harness.instance.shards(of: a).map(\.worker) == [WorkerID(2)])
        _ = keys
        #expect(
            CoordinatorHarness.sent(to: 1, in: movedB).map(\.message).contains(
                .closeSequence(CloseSequence(sequenceID: b, commit: false))
            )
        )
    }

    @Test("a request in flight on the sequence is answered before its move starts")
    func waitsForIdle() throws {
        var (harness, a, _) = try Self.cluster()
        let (batch, _, _) = try Routing.decode([(a, 1)])
        let (_, sent) = harness.fromClient(.decode(batch))
        let inFlight = try #require(CoordinatorHarness.sent(to: 1, in: sent).first)
        let started = Self.startDrain(&harness)
        #expect(Self.adoptions(in: started).isEmpty)
        let answer = DecodeReply(
            layer: 0,
            result: try Routing.output(rows: [[Float](repeating: 1, count: 8)], lse: [[0, 0]])
        )
        let answered = harness.fromWorker(1, inFlight.requestID, .decodeReply(answer))
        #expect(CoordinatorHarness.answers(to: harness.client, in: answered).count == 1)
        #expect(Self.adoptions(in: answered).map(\.worker) == [2])
    }

    @Test(
        "a refused adoption is asked of another worker; a lost one is closed on its target; with no worker left the shard stays and its held request is served where it is"
    )
    func failedMovesStay() throws {
        var (harness, a, _) = try Self.cluster(third: true)
        let started = Self.startDrain(&harness)
        let first = try #require(Self.adoptions(in: started).first)
        let (batch, _, _) = try Routing.decode([(a, 1)])
        let (_, held) = harness.fromClient(.decode(batch))
        #expect(CoordinatorHarness.workerSends(in: held).isEmpty)

        let refused = harness.fromWorker(
            first.worker,
            first.1.requestID,
            .errorReply(ErrorReply(code: .capacity, message: "no free pages"))
        )
        let second = try #require(Self.adoptions(in: refused).first)
        #expect(second.worker != first.worker)
        #expect(second.worker != 1)

        harness.advance(harness.instance.configuration.drainMoveTimeout + .milliseconds(1))
        // The workers stay alive meanwhile.
        for worker: UInt64 in [1, 2, 3] { _ = harness.heartbeat(worker) }
        let lost = harness.tick()
        #expect(
            CoordinatorHarness.sent(to: second.worker, in: lost).map(\.message)
                == [.closeSequence(CloseSequence(sequenceID: a, commit: false))]
        )
        #expect(Self.adoptions(in: lost).isEmpty)
        #expect(harness.instance.shards(of: a).map(\.worker) == [WorkerID(1)])
        #expect(CoordinatorHarness.sent(to: 1, in: lost).contains { $0.message == .decode(batch) })
        #expect(Spill.counter("cluster.drain.stayed", &harness) == 1)
        #expect(Spill.counter("cluster.drain.moved", &harness) == 0)
    }

    @Test("a request held past its answer bound is answered unavailable; the move goes on")
    func heldRequestExpires() throws {
        var (harness, a, _) = try Self.cluster {
            $0.answerBound = .seconds(2)
            $0.drainMoveTimeout = .seconds(10)
            $0.heartbeatInterval = .seconds(5)
        }
        let started = Self.startDrain(&harness)
        let adoption = try #require(Self.adoptions(in: started).first)
        let (batch, _, _) = try Routing.decode([(a, 1)])
        let (request, _) = harness.fromClient(.decode(batch))
        harness.advance(.milliseconds(2100))
        let expired = harness.tick()
        let answer = try #require(CoordinatorHarness.answers(to: harness.client, in: expired).first)
        #expect(answer.requestID == request)
        #expect(CoordinatorHarness.errorCode(answer) == .unavailable)
        let moved = harness.fromWorker(
            2,
            adoption.1.requestID,
            .adoptShardReply(AdoptShardReply(sequenceID: a, length: 8, pages: 2, bytes: 10))
        )
        #expect(harness.instance.shards(of: a).map(\.worker) == [WorkerID(2)])
        #expect(!CoordinatorHarness.sent(to: 1, in: moved).isEmpty)
        #expect(Spill.counter("cluster.drain.held_expired", &harness) == 1)
    }

    @Test("Drain of an unknown worker is refused badRequest, of a draining one unavailable")
    func refusals() throws {
        var (harness, _, _) = try Self.cluster()
        let (_, unknown) = harness.fromClient(.drain(Drain(workerID: 9)))
        #expect(
            CoordinatorHarness.errorCode(CoordinatorHarness.answers(to: harness.client, in: unknown).first)
                == .badRequest
        )
        _ = Self.startDrain(&harness)
        let (_, again) = harness.fromClient(.drain(Drain(workerID: 1)))
        #expect(
            CoordinatorHarness.errorCode(CoordinatorHarness.answers(to: harness.client, in: again).first)
                == .unavailable
        )
    }

    @Test("a drained worker that dies mid-move ends the drain; its sequence fails and its held request is answered")
    func drainedWorkerDies() throws {
        var (harness, a, _) = try Self.cluster()
        let started = Self.startDrain(&harness)
        let adoption = try #require(Self.adoptions(in: started).first)
        let (batch, _, _) = try Routing.decode([(a, 1)])
        let (request, _) = harness.fromClient(.decode(batch))
        harness.advance(harness.instance.configuration.silenceLimit + .milliseconds(1))
        _ = harness.heartbeat(2)
        let died = harness.tick()
        let answer = try #require(CoordinatorHarness.answers(to: harness.client, in: died).first)
        #expect(answer.requestID == request)
        #expect(CoordinatorHarness.errorCode(answer) == .unavailable)
        #expect(Spill.counter("cluster.drains", &harness) == 0)
        // The target's late adoption is closed on it.
        let late = harness.fromWorker(
            2,
            adoption.1.requestID,
            .adoptShardReply(AdoptShardReply(sequenceID: a, length: 8, pages: 2, bytes: 10))
        )
        #expect(
            CoordinatorHarness.sent(to: 2, in: late).map(\.message)
                == [.closeSequence(CloseSequence(sequenceID: a, commit: false))]
        )
    }

    @Test("a drained worker whose deregistration comes before its Drain's acknowledgement has completed its drain")
    func deregistrationBeforeAck() throws {
        var (harness, a, _) = try Self.cluster()
        let adoption = try #require(Self.adoptions(in: Self.startDrain(&harness)).first)
        let moved = harness.fromWorker(
            2,
            adoption.1.requestID,
            .adoptShardReply(AdoptShardReply(sequenceID: a, length: 8, pages: 2, bytes: 10))
        )
        let pull = try #require(
            CoordinatorHarness.sent(to: 2, in: moved).first { envelope in
                if case .pullPages = envelope.message { true } else { false }
            }
        )
        let pulled = harness.fromWorker(2, pull.requestID, .pullPagesReply(PullPagesReply(pulled: [true, true])))
        #expect(CoordinatorHarness.sent(to: 1, in: pulled).map(\.message) == [.drain(Drain(workerID: 1))])
        _ = harness.fromLink(1, .deregisterWorker(DeregisterWorker(workerID: 1)))
        #expect(harness.instance.state(of: WorkerID(1)) == .left)
        #expect(harness.instance.shards(of: a).map(\.worker) == [WorkerID(2)])
        #expect(Spill.counter("cluster.drains.completed", &harness) == 1)
        #expect(Spill.counter("cluster.sequences.failed", &harness) == 0)
    }

    @Test(
        "a batch naming a moving sequence is held whole, later requests on its sequences are held behind it, and all are sent in arrival order after the move"
    )
    func heldRequestsKeepTheirOrder() throws {
        var (harness, a, _) = try Self.cluster()
        let (b, bWorker) = try harness.open(CoordinatorHarness.tokens(pages: 1, first: 700))
        #expect(bWorker == 2)
        let adoption = try #require(Self.adoptions(in: Self.startDrain(&harness)).first)
        #expect(adoption.2.sequenceID == a)

        let (batch, _, _) = try Routing.decode([(a, 1), (b, 1)])
        let (alone, _, _) = try Routing.decode([(b, 1)])
        let close = Message.closeSequence(CloseSequence(sequenceID: a, commit: true))
        for message in [Message.decode(batch), .decode(alone), close] {
            let (_, directives) = harness.fromClient(message)
            #expect(CoordinatorHarness.workerSends(in: directives).isEmpty, "\(message.type) was not held")
        }
        // A request on a sequence no held request names is served at once.
        let (_, unrelated) = harness.fromClient(.truncate(Truncate(sequenceID: 12345, length: 0)))
        #expect(
            CoordinatorHarness.errorCode(CoordinatorHarness.answers(to: harness.client, in: unrelated).first)
                == .unknownSequence
        )

        let moved = harness.fromWorker(
            2,
            adoption.1.requestID,
            .adoptShardReply(AdoptShardReply(sequenceID: a, length: 8, pages: 2, bytes: 10))
        )
        let toNew = CoordinatorHarness.sent(to: 2, in: moved).map(\.message)
        let order = [Message.decode(batch), .decode(alone), close].map { message in toNew.firstIndex(of: message) }
        #expect(order.allSatisfy { $0 != nil }, "\(toNew.map(\.type))")
        #expect(order.compactMap { $0 } == order.compactMap { $0 }.sorted())
        #expect(Spill.counter("cluster.drain.held", &harness) == 3)
    }
}

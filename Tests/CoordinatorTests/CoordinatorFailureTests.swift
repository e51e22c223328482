import CacheProtocol
import Testing

@testable import Coordinator

/// Dead workers, deadlines and bounded answers.
@Suite("CoordinatorFailure")
struct CoordinatorFailureTests {
    static func prefill(_ sequence: UInt64, start: UInt32 = 0, rows: Int = 1) throws -> Message {
        let q = try WireTensor(f32: Array(repeating: 0.5, count: rows * 2 * 4), shape: [rows, 2, 4])
        let kv = try WireTensor(f32: Array(repeating: 0.25, count: rows * 4), shape: [rows, 1, 4])
        return .prefill(
            try Prefill(
                sequenceID: sequence,
                layer: 0,
                startPosition: start,
                input: try AttentionInput(q: q, k: kv, v: kv)
            )
        )
    }

    /// Two workers each holding one prompt's prefix, one sequence opened on each.
    static func twoWorkers() throws -> (harness: CoordinatorHarness, onOne: UInt64, onTwo: UInt64) {
        var harness = try CoordinatorHarness()
        let first = CoordinatorHarness.tokens(pages: 2, first: 1)
        let second = CoordinatorHarness.tokens(pages: 2, first: 1000)
        try harness.join(1, keys: harness.keys(first))
        try harness.join(2, keys: harness.keys(second))
        let (onOne, worker1) = try harness.open(first)
        let (onTwo, worker2) = try harness.open(second)
        guard worker1 == 1, worker2 == 2 else {
            throw CoordinatorHarness.Failure(description: "placed on \(worker1), \(worker2)")
        }
        return (harness, onOne, onTwo)
    }

    @Test(
        "a worker silent for dead-after heartbeat intervals is dead: its sequences and in-flight requests are answered unavailable at once, the other worker's go on"
    )
    func deathAfterSilence() throws {
        var (harness, onOne, onTwo) = try Self.twoWorkers()
        // A prefill in flight to worker 1.
        let (inFlight, sent) = harness.fromClient(try Self.prefill(onOne))
        #expect(CoordinatorHarness.sent(to: 1, in: sent).count == 1)
        // Worker 2 keeps heartbeating; worker 1 falls silent.
        harness.advance(.milliseconds(2900))
        _ = harness.heartbeat(2)
        #expect(harness.tick().isEmpty)
        #expect(harness.instance.state(of: WorkerID(1)) == .live)
        harness.advance(.milliseconds(100))
        let directives = harness.tick()
        guard case .dead = harness.instance.state(of: WorkerID(1)) else {
            Issue.record("worker 1 is \(String(describing: harness.instance.state(of: WorkerID(1))))")
            return
        }
        #expect(harness.instance.state(of: WorkerID(2)) == .live)
        let answer = try #require(
            CoordinatorHarness.answers(to: harness.client, in: directives).first { $0.requestID == inFlight }
        )
        #expect(CoordinatorHarness.errorCode(answer) == .unavailable)
        #expect(directives.contains(.disconnectWorker(WorkerID(1))))
        #expect(directives.contains(.notice(.workerDied(WorkerID(1), failedSequences: 1, answeredRequests: 1))))
        #expect(harness.instance.pendingOperations == 0)
        // Later requests for the dead worker's sequence are unavailable; worker 2's sequence is routed.
        let later = harness.fromClient(try Self.prefill(onOne))
        #expect(
            CoordinatorHarness.errorCode(CoordinatorHarness.answers(to: harness.client, in: later.directives).first)
                == .unavailable
        )
        #expect(CoordinatorHarness.workerSends(in: later.directives).isEmpty)
        let other = harness.fromClient(try Self.prefill(onTwo))
        #expect(CoordinatorHarness.sent(to: 2, in: other.directives).count == 1)
        #expect(CoordinatorHarness.answers(to: harness.client, in: other.directives).isEmpty)
        // Its pages left the index: a prompt it held is placed on worker 2 without a pull.
        #expect(harness.instance.indexedPages == 2)
        // Closing the failed sequence is acknowledged and forgets it.
        let close = harness.fromClient(.closeSequence(CloseSequence(sequenceID: onOne, commit: true)))
        #expect(CoordinatorHarness.answers(to: harness.client, in: close.directives).first?.message == .ack(Ack()))
        let again = harness.fromClient(.closeSequence(CloseSequence(sequenceID: onOne, commit: true)))
        #expect(
            CoordinatorHarness.errorCode(CoordinatorHarness.answers(to: harness.client, in: again.directives).first)
                == .unknownSequence
        )
    }

    @Test("dead-after is configurable")
    func configurableDeadAfter() throws {
        var harness = try CoordinatorHarness {
            $0.deadAfterHeartbeats = 5
            $0.heartbeatInterval = .milliseconds(200)
        }
        try harness.join(1)
        harness.advance(.milliseconds(999))
        _ = harness.tick()
        #expect(harness.instance.state(of: WorkerID(1)) == .live)
        harness.advance(.milliseconds(1))
        _ = harness.tick()
        #expect(harness.instance.state(of: WorkerID(1)) == .dead(since: harness.now))
    }

    @Test(
        "a dead worker that heartbeats is told to register again; registering brings a snapshot that re-indexes its pages"
    )
    func comesBack() throws {
        var (harness, _, _) = try Self.twoWorkers()
        harness.advance(.seconds(3))
        _ = harness.heartbeat(2)
        _ = harness.tick()
        #expect(harness.instance.indexedPages == 2)
        let beat = harness.heartbeat(1)
        #expect(CoordinatorHarness.errorCode(CoordinatorHarness.linkAnswers(in: beat).first) == .notRegistered)
        let keys = harness.keys(CoordinatorHarness.tokens(pages: 3, first: 1))
        let registered = try harness.register(1)
        #expect(registered.contains(.connectWorker(WorkerID(1), endpoint: CoordinatorHarness.endpoint(1))))
        let request = try #require(CoordinatorHarness.snapshotRequests(in: registered).first)
        _ = harness.fromWorker(
            1,
            request.1.requestID,
            .snapshotReply(SnapshotReply(workerID: 1, eventSequence: 0, keys: keys))
        )
        #expect(harness.instance.state(of: WorkerID(1)) == .live)
        #expect(harness.instance.indexedPages == 5)
        #expect(keys.allSatisfy { harness.instance.indexHolds($0, on: WorkerID(1)) })
    }

    @Test("a request a live worker does not answer is answered unavailable by the answer bound, and its sequence fails")
    func boundedAnswer() throws {
        var (harness, onOne, _) = try Self.twoWorkers()
        let bound = harness.instance.configuration.answerBound
        let (request, sent) = harness.fromClient(try Self.prefill(onOne))
        let forwarded = try #require(CoordinatorHarness.sent(to: 1, in: sent).first)
        var answered: Envelope?
        var elapsed = Duration.zero
        while answered == nil, elapsed <= bound + .seconds(1) {
            harness.advance(.milliseconds(100))
            elapsed += .milliseconds(100)
            _ = harness.heartbeat(1)
            _ = harness.heartbeat(2)
            answered = CoordinatorHarness.answers(to: harness.client, in: harness.tick()).first {
                $0.requestID == request
            }
        }
        #expect(elapsed == bound)
        #expect(CoordinatorHarness.errorCode(answered) == .unavailable)
        #expect(harness.instance.state(of: WorkerID(1)) == .live)
        // The late answer changes nothing; the sequence failed and its shard is being closed.
        let late = harness.fromWorker(1, forwarded.requestID, .ack(Ack()))
        #expect(late == [.notice(.lateReply(WorkerID(1), requestID: forwarded.requestID))])
        let next = harness.fromClient(try Self.prefill(onOne))
        #expect(
            CoordinatorHarness.errorCode(CoordinatorHarness.answers(to: harness.client, in: next.directives).first)
                == .unavailable
        )
    }

    @Test(
        "a worker registering again while live starts a new run: its sequences fail and in-flight requests are answered unavailable"
    )
    func newRun() throws {
        var (harness, onOne, onTwo) = try Self.twoWorkers()
        let (inFlight, _) = harness.fromClient(try Self.prefill(onOne))
        let directives = try harness.register(1)
        let answer = try #require(
            CoordinatorHarness.answers(to: harness.client, in: directives).first { $0.requestID == inFlight }
        )
        #expect(CoordinatorHarness.errorCode(answer) == .unavailable)
        #expect(harness.instance.state(of: WorkerID(1)) == .live)
        #expect(harness.instance.shards(of: onOne).isEmpty)
        #expect(harness.instance.shards(of: onTwo).count == 1)
        let disconnect = try #require(directives.firstIndex(of: .disconnectWorker(WorkerID(1))))
        let connect = try #require(
            directives.firstIndex(of: .connectWorker(WorkerID(1), endpoint: CoordinatorHarness.endpoint(1)))
        )
        #expect(disconnect < connect)
    }

    @Test("a request that cannot be sent is answered unavailable and leaves its sequence open")
    func sendFailure() throws {
        var (harness, onOne, _) = try Self.twoWorkers()
        let (request, sent) = harness.fromClient(try Self.prefill(onOne))
        let forwarded = try #require(CoordinatorHarness.sent(to: 1, in: sent).first)
        let directives = harness.handle(
            .sendFailed(worker: WorkerID(1), requestID: forwarded.requestID, reason: "message over the limit")
        )
        let answer = try #require(CoordinatorHarness.answers(to: harness.client, in: directives).first)
        #expect(answer.requestID == request)
        #expect(CoordinatorHarness.errorCode(answer) == .unavailable)
        #expect(harness.instance.shards(of: onOne).count == 1)
    }
}

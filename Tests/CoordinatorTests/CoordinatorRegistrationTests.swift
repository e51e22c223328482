import CacheProtocol
import Testing

@testable import Coordinator

/// Registration, heartbeats and deregistration on the coordinator's worker endpoint.
@Suite("CoordinatorRegistration")
struct CoordinatorRegistrationTests {
    @Test(
        "a worker of another model is refused with a reason, stays unknown, and its heartbeat is answered notRegistered"
    )
    func otherModelRefused() throws {
        var harness = try CoordinatorHarness()
        let other = try ModelSpec(
            name: "other",
            layers: 2,
            queryHeads: 2,
            kvHeads: 1,
            headDim: 4,
            kvStorage: .f32,
            pageSize: 4
        )
        let directives = try harness.register(7, fingerprint: other.fingerprint)
        let answer = try #require(CoordinatorHarness.linkAnswers(in: directives).first)
        guard case .registerWorkerReply(let reply) = answer.message, case .refused(let reason) = reply.outcome else {
            Issue.record("expected a refusal, got \(answer.message)")
            return
        }
        #expect(reason.contains("fingerprint"))
        #expect(reason.contains(other.fingerprint.hex))
        #expect(CoordinatorHarness.workerSends(in: directives).isEmpty)
        #expect(!directives.contains { if case .connectWorker = $0 { true } else { false } })
        #expect(harness.instance.state(of: WorkerID(7)) == nil)
        let beat = harness.heartbeat(7)
        #expect(CoordinatorHarness.errorCode(CoordinatorHarness.linkAnswers(in: beat).first) == .notRegistered)
        // A live worker that comes back with another model is refused and its previous run ends.
        try harness.join(8, keys: harness.keys(CoordinatorHarness.tokens(pages: 2)))
        let changed = try harness.register(8, fingerprint: other.fingerprint)
        #expect(changed.contains(.disconnectWorker(WorkerID(8))))
        #expect(harness.instance.state(of: WorkerID(8)) == .left)
        #expect(harness.instance.indexedPages == 0)
    }

    @Test("an accepted worker gets the cluster's spec, a connection and a snapshot request, in that order")
    func accepted() throws {
        var harness = try CoordinatorHarness()
        let directives = try harness.register(3)
        let answer = try #require(CoordinatorHarness.linkAnswers(in: directives).first)
        #expect(
            answer.message
                == .registerWorkerAccepted(
                    RegisterWorkerAccepted(
                        spec: try CoordinatorHarness.spec(),
                        heartbeatMilliseconds: 1000,
                        deadAfterHeartbeats: 3
                    )
                )
        )
        let connect = try #require(
            directives.firstIndex { $0 == .connectWorker(WorkerID(3), endpoint: CoordinatorHarness.endpoint(3)) }
        )
        let snapshot = try #require(
            directives.firstIndex {
                if case .sendToWorker(WorkerID(3), let envelope) = $0 {
                    envelope.message == .snapshotRequest(SnapshotRequest())
                } else {
                    false
                }
            }
        )
        #expect(connect < snapshot)
        #expect(harness.instance.state(of: WorkerID(3)) == .live)
    }

    @Test("a heartbeat from a registered worker is acknowledged; from an unknown worker it is answered notRegistered")
    func heartbeats() throws {
        var harness = try CoordinatorHarness()
        try harness.join(1)
        let known = harness.heartbeat(1)
        #expect(CoordinatorHarness.linkAnswers(in: known).first?.message == .ack(Ack()))
        let unknown = harness.heartbeat(9)
        #expect(CoordinatorHarness.errorCode(CoordinatorHarness.linkAnswers(in: unknown).first) == .notRegistered)
    }

    @Test(
        "a deregistered worker is acknowledged, leaves, loses its indexed pages and is disconnected; an unknown one is notRegistered"
    )
    func deregistration() throws {
        var harness = try CoordinatorHarness()
        let keys = harness.keys(CoordinatorHarness.tokens(pages: 2))
        try harness.join(1, keys: keys)
        #expect(harness.instance.indexedPages == 2)
        let directives = harness.fromLink(1, .deregisterWorker(DeregisterWorker(workerID: 1)))
        #expect(CoordinatorHarness.linkAnswers(in: directives).first?.message == .ack(Ack()))
        #expect(directives.contains(.disconnectWorker(WorkerID(1))))
        #expect(harness.instance.state(of: WorkerID(1)) == .left)
        #expect(harness.instance.indexedPages == 0)
        let unknown = harness.fromLink(5, .deregisterWorker(DeregisterWorker(workerID: 5)))
        #expect(CoordinatorHarness.errorCode(CoordinatorHarness.linkAnswers(in: unknown).first) == .notRegistered)
        let afterLeaving = harness.heartbeat(1)
        #expect(CoordinatorHarness.errorCode(CoordinatorHarness.linkAnswers(in: afterLeaving).first) == .notRegistered)
    }

    @Test("messages a connection does not carry are answered badRequest and change nothing")
    func unexpectedMessages() throws {
        var harness = try CoordinatorHarness()
        try harness.join(1)
        let fromClient = harness.fromClient(.pageGet(PageGet(keys: [])))
        #expect(
            CoordinatorHarness.errorCode(
                CoordinatorHarness.answers(to: harness.client, in: fromClient.directives).first
            ) == .badRequest
        )
        let heartbeatFromClient = harness.fromClient(
            .heartbeat(Heartbeat(workerID: 1, liveSequences: 0, freePages: 0, cachedPages: 0, lastEventSequence: 0))
        )
        #expect(
            CoordinatorHarness.errorCode(
                CoordinatorHarness.answers(to: harness.client, in: heartbeatFromClient.directives).first
            ) == .badRequest
        )
        let openOnLink = harness.fromLink(
            1,
            .openSequence(OpenSequence(sequenceID: 0, namespace: "t", shardStart: 0, tokens: [1]))
        )
        #expect(CoordinatorHarness.errorCode(CoordinatorHarness.linkAnswers(in: openOnLink).first) == .badRequest)
        #expect(harness.instance.sequenceCount == 0)
        let undecodable = harness.handle(
            .undecodable(from: .client(harness.client), requestID: 77, code: .version, reason: "major version 2")
        )
        let answer = try #require(CoordinatorHarness.answers(to: harness.client, in: undecodable).first)
        #expect(answer.requestID == 77)
        #expect(CoordinatorHarness.errorCode(answer) == .version)
        let late = harness.fromWorker(1, 999_999, .ack(Ack()))
        #expect(late == [.notice(.lateReply(WorkerID(1), requestID: 999_999))])
        let sequenceFromClient = harness.fromClient(
            .openSequence(OpenSequence(sequenceID: 5, namespace: "t", shardStart: 0, tokens: [1]))
        )
        #expect(
            CoordinatorHarness.errorCode(
                CoordinatorHarness.answers(to: harness.client, in: sequenceFromClient.directives).first
            ) == .badRequest
        )
        #expect(CoordinatorHarness.workerSends(in: sequenceFromClient.directives).isEmpty)
    }

    @Test("stats name cluster totals and per-worker figures, worker.<id>.state among them")
    func stats() throws {
        var harness = try CoordinatorHarness()
        try harness.join(1, keys: harness.keys(CoordinatorHarness.tokens(pages: 3)))
        try harness.join(2)
        _ = harness.heartbeat(1, liveSequences: 0, freePages: 900, cachedPages: 3)
        _ = try harness.open(CoordinatorHarness.tokens(pages: 3) + [99], cachedTokens: 12)
        harness.advance(.milliseconds(1500))
        _ = harness.tick()
        let (_, directives) = harness.fromClient(.statsRequest(StatsRequest()))
        guard
            case .statsReply(let reply)? = CoordinatorHarness.answers(to: harness.client, in: directives).first?.message
        else {
            Issue.record("no stats reply: \(directives)")
            return
        }
        let counters = Dictionary(reply.counters.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
        #expect(reply.counters.count == counters.count)
        #expect(counters["cluster.workers"] == 2)
        #expect(counters["cluster.workers.live"] == 2)
        #expect(counters["cluster.index.pages"] == 3)
        #expect(counters["cluster.sequences"] == 1)
        #expect(counters["worker.1.state"] == 0)
        #expect(counters["worker.1.pages.hot"] == 3)
        #expect(counters["worker.1.pages.disk"] == 0)
        #expect(counters["worker.1.sequences"] == 1)
        #expect(counters["worker.1.free_pages"] == 900)
        #expect(counters["worker.1.hit_rate_permille"] == 923)
        #expect(counters["worker.1.load_tokens"] == 16)
        #expect(counters["worker.1.heartbeat_age_ms"] == 1500)
        #expect(counters["worker.2.placements"] == 0)
        #expect(reply.counters.allSatisfy { $0.name.utf8.count <= WireLimits.maxCounterNameBytes })
    }

    @Test("a worker of minor version 0 is accepted with RegisterWorkerReply, which it knows")
    func acceptedAtMinorVersionZero() throws {
        var harness = try CoordinatorHarness()
        let directives = try harness.registerAtMinorVersionZero(4)
        let answer = try #require(CoordinatorHarness.linkAnswers(in: directives).first)
        #expect(
            answer.message
                == .registerWorkerReply(RegisterWorkerReply(outcome: .accepted(try CoordinatorHarness.spec())))
        )
    }

    @Test("a HeartbeatReport's evictable pages count as room and its transfers add up in the stats")
    func heartbeatReportFigures() throws {
        var harness = try CoordinatorHarness()
        try harness.join(5, hotPages: 100)
        try harness.join(6, hotPages: 100)
        for (worker, moved) in [(UInt64(5), UInt64(3)), (6, 4)] {
            let report = HeartbeatReport(
                heartbeat: Heartbeat(
                    workerID: worker,
                    liveSequences: 0,
                    freePages: 10,
                    cachedPages: 90,
                    lastEventSequence: 0
                ),
                evictablePages: 90,
                peerPagesReceived: moved,
                peerBytesReceivedRaw: moved * 1000,
                peerBytesReceivedEncoded: moved * 400
            )
            let answers = CoordinatorHarness.linkAnswers(in: harness.fromLink(worker, .heartbeatReport(report)))
            #expect(answers.map(\.message) == [.ack(Ack())])
        }
        let stats = harness.stats()
        #expect(stats["cluster.moved.pages"] == 7)
        #expect(stats["cluster.moved.bytes"] == 7000)
        #expect(stats["cluster.moved.bytes_encoded"] == 2800)
        #expect(stats["worker.5.evictable_pages"] == 90)
        #expect(stats["worker.6.received.pages"] == 4)
    }

    @Test(
        "a registration repeated on the same connection is answered again and changes nothing; on another connection it is a new run"
    )
    func repeatedRegistration() throws {
        var harness = try CoordinatorHarness()
        let connection = RoutingIdentity([0x52, 9])
        _ = try harness.register(9, link: connection)
        let (id, worker) = try harness.open(CoordinatorHarness.tokens(pages: 1), cachedTokens: 0)
        #expect(worker == 9)
        let again = try harness.register(9, link: connection)
        #expect(CoordinatorHarness.linkAnswers(in: again).count == 1)
        #expect(CoordinatorHarness.workerSends(in: again).isEmpty)
        #expect(harness.instance.shards(of: id).map(\.worker) == [WorkerID(9)])
        // A restarted process connects anew: its previous run ends, its sequence fails.
        let restarted = try harness.register(9, link: RoutingIdentity([0x52, 9, 1]))
        #expect(
            restarted.contains(
                .notice(.workerRegistered(WorkerID(9), endpoint: CoordinatorHarness.endpoint(9), newRun: true))
            )
        )
        #expect(harness.instance.shards(of: id).isEmpty)
    }
}

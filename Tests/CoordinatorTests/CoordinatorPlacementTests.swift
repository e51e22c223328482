import CacheProtocol
import Testing

@testable import Coordinator

/// Placement of new sequences: by cached prefix and load, the baselines, capacity, pulls.
@Suite("CoordinatorPlacement")
struct CoordinatorPlacementTests {
    static func openMessage(_ tokens: [UInt32], namespace: String = "t") -> Message {
        .openSequence(OpenSequence(sequenceID: 0, namespace: namespace, shardStart: 0, tokens: tokens))
    }

    @Test(
        "the sequence goes to the worker holding its prefix, and the client learns the cached tokens the worker reports"
    )
    func prefixHolder() throws {
        var harness = try CoordinatorHarness()
        let tokens = CoordinatorHarness.tokens(pages: 4)
        try harness.join(1)
        try harness.join(2, keys: Array(harness.keys(tokens).prefix(3)))
        try harness.join(3, keys: Array(harness.keys(tokens).prefix(1)))
        let (request, directives) = harness.fromClient(Self.openMessage(tokens))
        let sends = CoordinatorHarness.workerSends(in: directives)
        #expect(sends.count == 1)
        let (worker, envelope) = try #require(sends.first)
        #expect(worker == WorkerID(2))
        guard case .openSequence(let open) = envelope.message else {
            Issue.record("expected OpenSequence, got \(envelope.message)")
            return
        }
        #expect(open.sequenceID != 0)
        #expect(open.tokens == tokens)
        #expect(open.shardStart == 0)
        #expect(CoordinatorHarness.answers(to: harness.client, in: directives).isEmpty)
        let reply = harness.fromWorker(
            2,
            envelope.requestID,
            .openSequenceReply(OpenSequenceReply(sequenceID: open.sequenceID, cachedTokens: 12))
        )
        let answer = try #require(CoordinatorHarness.answers(to: harness.client, in: reply).first)
        #expect(answer.requestID == request)
        #expect(answer.message == .openSequenceReply(OpenSequenceReply(sequenceID: open.sequenceID, cachedTokens: 12)))
        #expect(harness.instance.shards(of: open.sequenceID).map(\.worker) == [WorkerID(2)])
    }

    @Test(
        "least cost: a holder carrying a little load still wins, a holder carrying more load than its cache saves loses"
    )
    func leastCostWithLoad() throws {
        // Pulls off, to see the cost rule alone; each sequence a heartbeat reports beyond the
        // coordinator's table counts 16 KV tokens. 8-page prompt (32 tokens), worker 2 holds 6 pages.
        var harness = try CoordinatorHarness {
            $0.weights.minimumPullPages = 1000
            $0.weights.unreportedSequenceTokens = 16
        }
        let tokens = CoordinatorHarness.tokens(pages: 8)
        try harness.join(1)
        try harness.join(2, keys: Array(harness.keys(tokens).prefix(6)))
        // One sequence on worker 2: cost 8 + 16 = 24 against worker 1's 32.
        _ = harness.heartbeat(2, liveSequences: 1)
        let lightDecision = harness.instance.place(tokens: tokens, namespace: "t", excluding: [])
        let light = try #require(lightDecision?.0)
        #expect(light.worker == WorkerID(2))
        #expect(light.cost == 24)
        #expect(light.cachedPages == 6)
        // Two sequences: 8 + 32 = 40 against 32.
        _ = harness.heartbeat(2, liveSequences: 2)
        let heavyDecision = harness.instance.place(tokens: tokens, namespace: "t", excluding: [])
        let heavy = try #require(heavyDecision?.0)
        #expect(heavy.worker == WorkerID(1))
        #expect(heavy.cost == 32)
        #expect(heavy.pull == nil)
        // The coordinator's own table counts too: a 16-token sequence opened on worker 1 makes it 48.
        _ = harness.heartbeat(2, liveSequences: 1)
        #expect(try harness.open(CoordinatorHarness.tokens(pages: 4, first: 5000)).worker == 1)
        let afterDecision = harness.instance.place(tokens: tokens, namespace: "t", excluding: [])
        let after = try #require(afterDecision?.0)
        #expect(after.worker == WorkerID(2))
        // What placement scans is what the records say, after heartbeats, an open and placements.
        let registry = harness.instance.registry
        for slot in 0..<registry.count {
            #expect(registry.placementLoads[slot] == PlacementLoad(id: registry[slot].id, load: registry[slot].load))
        }
    }

    @Test("when the holder is too loaded, the chosen worker first pulls the holder's pages peer to peer, then opens")
    func pullFromHolder() throws {
        var harness = try CoordinatorHarness()
        let tokens = CoordinatorHarness.tokens(pages: 4)
        let keys = harness.keys(tokens)
        try harness.join(1, keys: Array(keys.prefix(3)))
        try harness.join(2)
        _ = harness.heartbeat(1, liveSequences: 4)
        let (request, directives) = harness.fromClient(Self.openMessage(tokens))
        let sends = CoordinatorHarness.workerSends(in: directives)
        #expect(sends.count == 1)
        let (worker, pull) = try #require(sends.first)
        #expect(worker == WorkerID(2))
        #expect(
            pull.message
                == .pullPages(PullPages(peerEndpoint: CoordinatorHarness.endpoint(1), keys: Array(keys.prefix(3))))
        )
        let afterPull = harness.fromWorker(
            2,
            pull.requestID,
            .pullPagesReply(PullPagesReply(pulled: [true, true, true]))
        )
        let (openWorker, open) = try #require(CoordinatorHarness.workerSends(in: afterPull).first)
        #expect(openWorker == WorkerID(2))
        guard case .openSequence(let body) = open.message else {
            Issue.record("expected OpenSequence after the pull, got \(open.message)")
            return
        }
        #expect(CoordinatorHarness.answers(to: harness.client, in: afterPull).isEmpty)
        let done = harness.fromWorker(
            2,
            open.requestID,
            .openSequenceReply(OpenSequenceReply(sequenceID: body.sequenceID, cachedTokens: 12))
        )
        #expect(
            CoordinatorHarness.answers(to: harness.client, in: done).first
                == Envelope(
                    requestID: request,
                    message: .openSequenceReply(OpenSequenceReply(sequenceID: body.sequenceID, cachedTokens: 12))
                )
        )
    }

    @Test("a failed pull does not stop the open; a store worker is a pull source but never a placement")
    func pullFailureAndStoreSource() throws {
        var harness = try CoordinatorHarness()
        let tokens = CoordinatorHarness.tokens(pages: 2)
        let keys = harness.keys(tokens)
        try harness.join(1, role: .store, keys: keys)
        try harness.join(2)
        let (_, directives) = harness.fromClient(Self.openMessage(tokens))
        let (worker, pull) = try #require(CoordinatorHarness.workerSends(in: directives).first)
        #expect(worker == WorkerID(2))
        #expect(pull.message == .pullPages(PullPages(peerEndpoint: CoordinatorHarness.endpoint(1), keys: keys)))
        let afterPull = harness.fromWorker(2, pull.requestID, .errorReply(ErrorReply(code: .capacity, message: "full")))
        let (openWorker, open) = try #require(CoordinatorHarness.workerSends(in: afterPull).first)
        #expect(openWorker == WorkerID(2))
        guard case .openSequence = open.message else {
            Issue.record("expected OpenSequence, got \(open.message)")
            return
        }
    }

    @Test("round-robin takes each worker with room in turn")
    func roundRobin() throws {
        var harness = try CoordinatorHarness { $0.placement = .roundRobin }
        for worker in UInt64(1)...3 { try harness.join(worker) }
        var placed: [UInt64] = []
        for index in 0..<5 {
            placed.append(try harness.open(CoordinatorHarness.tokens(pages: 1, first: UInt32(100 * index))).worker)
        }
        #expect(placed == [1, 2, 3, 1, 2])
    }

    @Test("least-loaded takes the worker with the fewest resident KV tokens")
    func leastLoaded() throws {
        var harness = try CoordinatorHarness { $0.placement = .leastLoaded }
        for worker in UInt64(1)...3 { try harness.join(worker) }
        // Worker 1 gets 8 pages, then worker 2 (least loaded, lowest id among the idle) 2 pages.
        #expect(try harness.open(CoordinatorHarness.tokens(pages: 8, first: 1)).worker == 1)
        #expect(try harness.open(CoordinatorHarness.tokens(pages: 2, first: 500)).worker == 2)
        #expect(try harness.open(CoordinatorHarness.tokens(pages: 4, first: 900)).worker == 3)
        // Loads now 32, 8 and 16 tokens.
        #expect(try harness.open(CoordinatorHarness.tokens(pages: 1, first: 1300)).worker == 2)
    }

    @Test("capacity at once when no worker has room for the prompt, and when no compute worker is live")
    func capacity() throws {
        var harness = try CoordinatorHarness()
        let none = harness.fromClient(Self.openMessage(CoordinatorHarness.tokens(pages: 1)))
        #expect(
            CoordinatorHarness.errorCode(CoordinatorHarness.answers(to: harness.client, in: none.directives).first)
                == .capacity
        )
        try harness.join(1, hotPages: 10)
        try harness.join(2, hotPages: 4)
        let tooLarge = harness.fromClient(Self.openMessage(CoordinatorHarness.tokens(pages: 11)))
        #expect(
            CoordinatorHarness.errorCode(CoordinatorHarness.answers(to: harness.client, in: tooLarge.directives).first)
                == .capacity
        )
        #expect(CoordinatorHarness.workerSends(in: tooLarge.directives).isEmpty)
        #expect(harness.instance.sequenceCount == 0)
        // 8 pages fit only worker 1; then 4 more pages fit only worker 2; then 3 fit nowhere.
        #expect(try harness.open(CoordinatorHarness.tokens(pages: 8, first: 1)).worker == 1)
        #expect(try harness.open(CoordinatorHarness.tokens(pages: 4, first: 100)).worker == 2)
        let full = harness.fromClient(Self.openMessage(CoordinatorHarness.tokens(pages: 3, first: 200)))
        #expect(
            CoordinatorHarness.errorCode(CoordinatorHarness.answers(to: harness.client, in: full.directives).first)
                == .capacity
        )
        #expect(CoordinatorHarness.workerSends(in: full.directives).isEmpty)
    }

    @Test("a worker that answers the open with capacity is passed over for the next one")
    func retryElsewhere() throws {
        var harness = try CoordinatorHarness()
        let tokens = CoordinatorHarness.tokens(pages: 2)
        try harness.join(1, keys: harness.keys(tokens))
        try harness.join(2)
        _ = harness.heartbeat(2, liveSequences: 0)
        _ = harness.heartbeat(1, liveSequences: 0)
        let (request, directives) = harness.fromClient(Self.openMessage(tokens))
        let (first, open) = try #require(CoordinatorHarness.workerSends(in: directives).first)
        #expect(first == WorkerID(1))
        let retried = harness.fromWorker(
            1,
            open.requestID,
            .errorReply(ErrorReply(code: .capacity, message: "no pages"))
        )
        #expect(CoordinatorHarness.answers(to: harness.client, in: retried).isEmpty)
        let (second, next) = try #require(CoordinatorHarness.workerSends(in: retried).first)
        #expect(second == WorkerID(2))
        guard case .pullPages = next.message else {
            Issue.record("expected worker 2 to pull worker 1's pages first, got \(next.message)")
            return
        }
        let refused = harness.fromWorker(2, next.requestID, .pullPagesReply(PullPagesReply(pulled: [false, false])))
        let (_, open2) = try #require(CoordinatorHarness.workerSends(in: refused).first)
        let done = harness.fromWorker(
            2,
            open2.requestID,
            .errorReply(ErrorReply(code: .capacity, message: "no pages either"))
        )
        let answer = try #require(CoordinatorHarness.answers(to: harness.client, in: done).first)
        #expect(answer.requestID == request)
        #expect(CoordinatorHarness.errorCode(answer) == .capacity)
        #expect(harness.instance.sequenceCount == 0)
        #expect(harness.instance.pendingOperations == 0)
    }

    @Test("the placement rule alone: prefix cost, pulls, room, and the baselines")
    func placer() {
        let weights = PlacementWeights()
        let idle = PlacementCandidate(
            slot: 0,
            worker: WorkerID(1),
            cachedPages: 0,
            hotCachedPages: 0,
            credit: 0,
            loadTokens: 0,
            roomPages: 100
        )
        let holder = PlacementCandidate(
            slot: 1,
            worker: WorkerID(2),
            cachedPages: 4,
            hotCachedPages: 4,
            credit: 4,
            loadTokens: 40,
            roomPages: 100
        )
        let source = PullSource(slot: 1, worker: WorkerID(2), pages: 4)
        // 64 tokens: holder costs 64 - 64 + 40 = 40; idle costs 64 - 0.5 * 64 = 32 and pulls.
        let chosen = Placer.choose(
            candidates: [idle, holder],
            source: source,
            promptTokens: 64,
            pageSize: 16,
            policy: .prefix,
            weights: weights,
            roundRobinAfter: -1
        )
        #expect(chosen?.worker == WorkerID(1))
        #expect(chosen?.pull?.pages == 0..<4)
        #expect(chosen?.cost == 32)
        var lighter = holder
        lighter.loadTokens = 20
        let kept = Placer.choose(
            candidates: [idle, lighter],
            source: source,
            promptTokens: 64,
            pageSize: 16,
            policy: .prefix,
            weights: weights,
            roundRobinAfter: -1
        )
        #expect(kept?.worker == WorkerID(2))
        #expect(kept?.pull == nil)
        var lowerTier = holder
        lowerTier.loadTokens = 0
        lowerTier.credit = 4 * 0.6
        lowerTier.hotCachedPages = 0
        let disk = Placer.choose(
            candidates: [lowerTier],
            source: nil,
            promptTokens: 64,
            pageSize: 16,
            policy: .prefix,
            weights: weights,
            roundRobinAfter: -1
        )
        #expect(disk.map { abs($0.cost - (64 - 16 * 2.4)) < 1e-9 } == true)
        #expect(disk?.neededPages == 4)
        var cramped = idle
        cramped.roomPages = 3
        #expect(
            Placer.choose(
                candidates: [cramped],
                source: nil,
                promptTokens: 64,
                pageSize: 16,
                policy: .leastLoaded,
                weights: weights,
                roundRobinAfter: -1
            ) == nil
        )
        let robin = Placer.choose(
            candidates: [idle, holder],
            source: source,
            promptTokens: 64,
            pageSize: 16,
            policy: .roundRobin,
            weights: weights,
            roundRobinAfter: 0
        )
        #expect(robin?.worker == WorkerID(2))
        #expect(robin?.pull == nil)
    }
}

import CacheProtocol
import Testing

@testable import Coordinator

/// Replication: pages with fewer than `replicas` holders are pulled by other workers, after a
/// stored event, after a snapshot, and after a holder's run ends; pulls in flight count, failures
/// are counted and dropped, and the backlog is worked through a bounded number of keys per tick.
@Suite("CoordinatorReplication")
struct CoordinatorReplicationTests {
    /// A replication pull sent to a worker.
    struct SentPull {
        var target: UInt64
        var requestID: UInt64
        var pull: PullPages
    }

    static func pulls(in directives: [CoordinatorDirective]) -> [SentPull] {
        CoordinatorHarness.workerSends(in: directives).compactMap { worker, envelope in
            if case .pullPages(let pull) = envelope.message {
                SentPull(target: worker.rawValue, requestID: envelope.requestID, pull: pull)
            } else {
                nil
            }
        }
    }

    /// A harness with `replicas` and workers `workers` joined, each heartbeating once.
    static func cluster(
        replicas: Int,
        workers: [UInt64] = [1, 2, 3],
        configure: (inout CoordinatorConfiguration) -> Void = { _ in }
    ) throws -> CoordinatorHarness {
        var harness = try CoordinatorHarness {
            $0.replicas = replicas
            configure(&$0)
        }
        for worker in workers { try harness.join(worker) }
        for worker in workers { _ = harness.heartbeat(worker) }
        return harness
    }

    /// The pulled flags of a reply that pulled every key of `sent`.
    static func allPulled(_ sent: SentPull) -> Message {
        .pullPagesReply(PullPagesReply(pulled: sent.pull.keys.map { _ in true }))
    }

    @Test(
        "a stored event's keys are pulled from its sender by the least-loaded worker not holding them, in one PullPages; the index learns the copy from the target's own event"
    )
    func storedEventIsReplicated() throws {
        var harness = try Self.cluster(replicas: 2)
        // Worker 1 has a sequence open (a first placement goes to the lowest id): worker 3 is the
        // least loaded worker other than the sender.
        let opened = try harness.open(CoordinatorHarness.tokens(pages: 2, first: 900))
        #expect(opened.worker == 1)
        let keys = harness.keys(CoordinatorHarness.tokens(pages: 4))
        let stored = harness.event(2, .stored, keys)
        let pulls = Self.pulls(in: stored)
        #expect(pulls.count == 1)
        let sent = try #require(pulls.first)
        #expect(sent.target == 3)
        #expect(sent.pull == PullPages(peerEndpoint: CoordinatorHarness.endpoint(2), keys: keys))
        // Not in the index before the target says so.
        #expect(!harness.instance.indexHolds(keys[0], on: WorkerID(3)))
        #expect(Self.pulls(in: harness.fromWorker(3, sent.requestID, Self.allPulled(sent))).isEmpty)
        #expect(!harness.instance.indexHolds(keys[0], on: WorkerID(3)))
        #expect(Self.pulls(in: harness.event(3, .stored, keys)).isEmpty)
        #expect(keys.allSatisfy { harness.instance.indexHolds($0, on: WorkerID(3)) })
        #expect(harness.instance.indexedPages == 8)
        #expect(harness.stats()["cluster.replication.pulls"] == 1)
        #expect(harness.stats()["cluster.replication.pages"] == 4)
        #expect(harness.stats()["cluster.replication.failed"] == 0)
        #expect(harness.stats()["cluster.replication.in_flight"] == 0)
        // A placement pull is not a replication pull.
        #expect(harness.stats()["cluster.pulls"] == 0)
    }

    @Test("with one replica (the default) nothing is pulled")
    func oneReplicaPullsNothing() throws {
        var harness = try Self.cluster(replicas: 1)
        let keys = harness.keys(CoordinatorHarness.tokens(pages: 4))
        #expect(harness.event(1, .stored, keys).isEmpty)
        var ticks: [CoordinatorDirective] = []
        for _ in 0..<3 {
            harness.advance(.milliseconds(100))
            ticks += harness.tick()
        }
        #expect(Self.pulls(in: ticks).isEmpty)
    }

    @Test(
        "targets are live compute workers with room, never a holder; a store or draining worker only serves as a source"
    )
    func targetsAreLiveComputeWorkersWithRoom() throws {
        var harness = try CoordinatorHarness { $0.replicas = 3 }
        try harness.join(1)
        try harness.join(2, role: .store)
        try harness.join(3, hotPages: 2)
        try harness.join(4)
        try harness.join(5)
        for worker: UInt64 in 1...5 { _ = harness.heartbeat(worker, freePages: worker == 3 ? 2 : 1000) }
        // Worker 5 drains: routed to, never a target.
        let (_, drain) = harness.fromClient(.drain(Drain(workerID: 5)))
        let drainRequest = try #require(CoordinatorHarness.sent(to: 5, in: drain).first)
        _ = harness.fromWorker(5, drainRequest.requestID, .ack(Ack()))
        #expect(harness.instance.state(of: WorkerID(5)) == .draining)

        let keys = harness.keys(CoordinatorHarness.tokens(pages: 4))
        let pulls = Self.pulls(in: harness.event(2, .stored, keys))
        // Three replicas wanted and the store worker holds them: workers 1, 3 and 4 may take them,
        // in id order at equal load; worker 3 has room for two pages, so worker 4 takes the rest.
        let byTarget = Dictionary(grouping: pulls, by: \.target)
        #expect(pulls.count == 3)
        #expect(byTarget[1]?.first?.pull.keys == keys)
        #expect(byTarget[3]?.first?.pull.keys == Array(keys[0..<2]))
        #expect(byTarget[4]?.first?.pull.keys == Array(keys[2..<4]))
        #expect(pulls.allSatisfy { $0.pull.peerEndpoint == CoordinatorHarness.endpoint(2) })
        // A draining holder is a source, never a target.
        let more = harness.keys(CoordinatorHarness.tokens(pages: 1, first: 500))
        let fromDraining = Self.pulls(in: harness.event(5, .stored, more))
        #expect(fromDraining.count == 2)
        #expect(fromDraining.allSatisfy { ![2, 5].contains($0.target) })
        #expect(fromDraining.allSatisfy { $0.pull.peerEndpoint == CoordinatorHarness.endpoint(5) })
    }

    @Test("a key being pulled is not pulled again: pulls in flight count as holders")
    func inFlightPullsCount() throws {
        var harness = try Self.cluster(replicas: 3, workers: [1, 2, 3, 4])
        let keys = harness.keys(CoordinatorHarness.tokens(pages: 3))
        let first = Self.pulls(in: harness.event(1, .stored, keys))
        #expect(first.map(\.target).sorted() == [2, 3])
        #expect(harness.stats()["cluster.replication.in_flight"] == 6)
        // Worker 4 stores the same pages while both pulls are under way: 1 and 4 hold them, 2 and 3
        // are pulling them, so nothing more is asked.
        #expect(Self.pulls(in: harness.event(4, .stored, keys)).isEmpty)
        // A target's event while its pull is in flight counts it once.
        #expect(Self.pulls(in: harness.event(2, .stored, keys)).isEmpty)
    }

    @Test("a refused or timed-out pull is counted and dropped, not sent again")
    func failuresAreDropped() throws {
        var harness = try Self.cluster(replicas: 2)
        let keys = harness.keys(CoordinatorHarness.tokens(pages: 4))
        let refused = try #require(Self.pulls(in: harness.event(1, .stored, keys)).first)
        let answer = harness.fromWorker(
            refused.target,
            refused.requestID,
            .errorReply(ErrorReply(code: .unavailable, message: "peer did not answer"))
        )
        #expect(Self.pulls(in: answer).isEmpty)
        #expect(
            answer.contains {
                if case .notice(.replicationFailed(WorkerID(refused.target), from: WorkerID(1), pages: 4, reason: _)) =
                    $0
                {
                    true
                } else {
                    false
                }
            }
        )
        #expect(harness.stats()["cluster.replication.failed"] == 4)

        let other = harness.keys(CoordinatorHarness.tokens(pages: 2, first: 300))
        let timedOut = try #require(Self.pulls(in: harness.event(1, .stored, other)).first)
        let partly = harness.keys(CoordinatorHarness.tokens(pages: 2, first: 600))
        let half = try #require(Self.pulls(in: harness.event(1, .stored, partly)).first)
        _ = harness.fromWorker(half.target, half.requestID, .pullPagesReply(PullPagesReply(pulled: [true, false])))
        var later: [CoordinatorDirective] = []
        for _ in 0..<60 {
            harness.advance(.milliseconds(100))
            for worker: UInt64 in 1...3 where harness.now.nanoseconds % 1_000_000_000 == 0 {
                later += harness.heartbeat(worker)
            }
            later += harness.tick()
        }
        #expect(Self.pulls(in: later).isEmpty)
        #expect(later.contains(.notice(.requestTimedOut(WorkerID(timedOut.target), requestID: timedOut.requestID))))
        #expect(harness.stats()["cluster.replication.failed"] == 4 + 2 + 1)
        #expect(harness.stats()["cluster.replication.pages"] == 1)
        #expect(harness.stats()["cluster.replication.pulls"] == 3)
        #expect(harness.stats()["cluster.replication.in_flight"] == 0)
    }

    @Test(
        "a holder's death re-replicates the keys it left short, from a surviving holder, a bounded number of keys per tick"
    )
    func deathReReplicates() throws {
        var harness = try CoordinatorHarness {
            $0.replicas = 2
            $0.replicationKeysPerTick = 2
            $0.replicationKeysInFlight = 3
        }
        let keys = harness.keys(CoordinatorHarness.tokens(pages: 5))
        let lone = harness.keys(CoordinatorHarness.tokens(pages: 1, first: 700))
        try harness.join(1, keys: keys + lone)
        try harness.join(2, keys: keys)
        try harness.join(3)
        for worker: UInt64 in 1...3 { _ = harness.heartbeat(worker) }
        // The snapshots' keys join the backlog, two per tick: only `lone` (held by worker 1 alone)
        // is pulled, by worker 3 (the worker holding none).
        var first: [SentPull] = []
        for _ in 0..<8 {
            harness.advance(.milliseconds(100))
            first += Self.pulls(in: harness.tick())
        }
        #expect(first.map(\.target) == [3])
        #expect(first.first?.pull == PullPages(peerEndpoint: CoordinatorHarness.endpoint(1), keys: lone))
        #expect(harness.stats()["cluster.replication.backlog"] == 0)
        for sent in first { _ = harness.fromWorker(sent.target, sent.requestID, Self.allPulled(sent)) }
        _ = harness.event(3, .stored, lone)

        // Worker 1 dies: its 5 keys held by worker 2 alone and `lone`, held by worker 3 alone, go to
        // the backlog.
        var pulled: [[PrefixKey]] = []
        var sent: [SentPull] = []
        for _ in 0..<40 {
            harness.advance(.milliseconds(100))
            if harness.now.nanoseconds % 1_000_000_000 == 0 {
                _ = harness.heartbeat(2)
                _ = harness.heartbeat(3)
            }
            let pulls = Self.pulls(in: harness.tick())
            sent += pulls
            if !pulls.isEmpty { pulled.append(pulls.flatMap(\.pull.keys)) }
        }
        #expect(harness.instance.state(of: WorkerID(1)).map { if case .dead = $0 { true } else { false } } == true)
        // Two keys at the death's tick, then one (3 in flight at most), then nothing until pulls end.
        #expect(pulled == [Array(keys[0..<2]), [keys[2]]])
        #expect(sent.allSatisfy { $0.target == 3 && $0.pull.peerEndpoint == CoordinatorHarness.endpoint(2) })
        #expect(harness.stats()["cluster.replication.backlog"] == 3)
        for pull in sent { _ = harness.fromWorker(pull.target, pull.requestID, Self.allPulled(pull)) }
        harness.advance(.milliseconds(100))
        let rest = Self.pulls(in: harness.tick())
        #expect(rest.map(\.target) == [3])
        #expect(rest.flatMap(\.pull.keys) == Array(keys[3..<5]))
        harness.advance(.milliseconds(100))
        let last = Self.pulls(in: harness.tick())
        #expect(last.map(\.target) == [2])
        #expect(last.first?.pull == PullPages(peerEndpoint: CoordinatorHarness.endpoint(3), keys: lone))
        #expect(harness.stats()["cluster.replication.backlog"] == 0)
    }

    @Test("a pull cut short by its target's death is given to another worker")
    func targetDeathHandsThePullOver() throws {
        var harness = try Self.cluster(replicas: 2)
        let keys = harness.keys(CoordinatorHarness.tokens(pages: 3))
        let first = try #require(Self.pulls(in: harness.event(1, .stored, keys)).first)
        #expect(first.target == 2)
        // Worker 2 falls silent.
        var pulls: [SentPull] = []
        for _ in 0..<40 {
            harness.advance(.milliseconds(100))
            if harness.now.nanoseconds % 1_000_000_000 == 0 {
                _ = harness.heartbeat(1)
                _ = harness.heartbeat(3)
            }
            pulls += Self.pulls(in: harness.tick())
        }
        #expect(pulls.map(\.target) == [3])
        #expect(pulls.first?.pull == PullPages(peerEndpoint: CoordinatorHarness.endpoint(1), keys: keys))
        #expect(harness.stats()["cluster.replication.failed"] == 3)
    }

    @Test("keys beyond the backlog's bound are dropped and counted")
    func backlogBound() throws {
        var harness = try CoordinatorHarness {
            $0.replicas = 2
            $0.replicationBacklogKeys = 3
        }
        let keys = harness.keys(CoordinatorHarness.tokens(pages: 5))
        try harness.join(1, keys: keys)
        #expect(harness.stats()["cluster.replication.backlog"] == 3)
        #expect(harness.stats()["cluster.replication.dropped"] == 2)
    }

    @Test("serve's --replicas is checked: 1 to 4096 workers, taken into the state machine's configuration")
    func replicasOption() throws {
        func configuration(
            _ replicas: Int
        ) throws(CoordinatorDaemonConfigurationError) -> CoordinatorDaemonConfiguration {
            try CoordinatorDaemonConfiguration(
                listen: "tcp://127.0.0.1:*",
                workersEndpoint: "tcp://127.0.0.1:*",
                model: "name=tiny,layers=2,q-heads=2,kv-heads=1,head-dim=4,kv=f32,page=4",
                replicas: replicas
            )
        }
        #expect(try configuration(2).coordinator.replicas == 2)
        #expect(try configuration(4096).coordinator.replicas == 4096)
        for bad in [0, -1, 4097] {
            #expect(
                throws: CoordinatorDaemonConfigurationError.invalidOption(
                    "--replicas must be 1 to 4096 workers, not \(bad)"
                )
            ) {
                try configuration(bad)
            }
        }
        let defaults = try CoordinatorDaemonConfiguration(
            listen: "tcp://127.0.0.1:*",
            workersEndpoint: "tcp://127.0.0.1:*",
            model: "name=tiny,layers=2,q-heads=2,kv-heads=1,head-dim=4,kv=f32,page=4"
        )
        #expect(defaults.coordinator.replicas == 1)
    }
}

import CacheProtocol
import Foundation
import Kernels
import TestSupport
import Testing

@testable import Worker

/// The worker's life through a real `mfa-worker` with the test as its coordinator: heartbeats that a
/// busy service does not delay, drain that ends in a deregistration and a clean exit, and shutdown
/// that answers the request in flight.
@Suite("mfa-worker lifecycle", .serialized)
struct WorkerLifecycleTests {
    /// A small model for the drain tests.
    static let smallModel = "name=tiny,layers=2,q-heads=4,kv-heads=2,head-dim=32,kv=f16,page=16"
    /// A model whose prefill of `longPrefillTokens` tokens keeps the service busy for seconds, most
    /// of it in kernels on every kernel thread (their work grows with the square of the tokens, the
    /// rest of the request's with the tokens).
    static let bigModel = "name=big,layers=3,q-heads=4,kv-heads=1,head-dim=128,kv=f16,page=16"
    /// Tokens of the long prefill, in every layer.
    static let longPrefillTokens = 6144
    /// The heartbeat interval the tests give the worker, in milliseconds.
    static let heartbeatMilliseconds = 200

    /// A worker registered with `coordinator` as worker `workerID`, heartbeating every
    /// `heartbeatMilliseconds`.
    static func registeredWorker(
        model: String,
        memory: String = "16MiB",
        coordinator: FakeCoordinator,
        workerID: UInt64
    ) async throws -> WorkerProcess {
        let worker = try WorkerProcess(
            model: model,
            memory: memory,
            arguments: [
                "--coordinator", coordinator.address, "--worker-id", "\(workerID)",
                "--heartbeat", "\(heartbeatMilliseconds)",
            ]
        )
        let registration = try await coordinator.acceptRegistration()
        #expect(registration.workerID == workerID)
        // Its first heartbeat shows the worker has taken the acceptance (the link handles answers
        // on a task, which a busy machine can delay; a registration it repeats meanwhile is
        // answered too).
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let arrival = try await coordinator.next(timeout: .seconds(60))
            if case .heartbeat = arrival.envelope.message { return worker }
            if case .registerWorker = arrival.envelope.message {
                try await coordinator.answer(
                    arrival,
                    with: .registerWorkerReply(RegisterWorkerReply(outcome: .accepted(coordinator.spec)))
                )
            }
        }
        Issue.record("worker \(workerID) sent no heartbeat within 60 s of its registration")
        return worker
    }

    /// The frames of one Prefill per layer of `spec`, each of `tokens` tokens from position 0.
    static func prefillRequests(spec: ModelSpec, sequenceID: UInt64, tokens: Int) throws -> [[[UInt8]]] {
        var random = SplitMix64(seed: 21)
        let (hq, hkv, d) = (spec.queryHeads, spec.kvHeads, spec.headDim)
        let input = try AttentionInput(
            q: WireTensor(f32: random.floats(tokens * hq * d, in: -4..<4), shape: [tokens, hq, d]),
            k: WireTensor(f32: random.floats(tokens * hkv * d, in: -4..<4), shape: [tokens, hkv, d]),
            v: WireTensor(f32: random.floats(tokens * hkv * d, in: -4..<4), shape: [tokens, hkv, d])
        )
        return try (0..<spec.layers).map { layer in
            try Envelope(
                requestID: UInt64(layer + 1),
                message: .prefill(Prefill(sequenceID: sequenceID, layer: UInt32(layer), startPosition: 0, input: input))
            ).encode()
        }
    }

    /// A registered worker of the big model with one sequence of `longPrefillTokens` tokens open,
    /// and the frames of its prefill, one request per layer.
    struct LongPrefill {
        let spec: ModelSpec
        let context: ZMQContext
        let coordinator: FakeCoordinator
        let worker: WorkerProcess
        let client: ClusterClient
        let sequence: UInt64
        let requests: [[[UInt8]]]
    }

    static func longPrefill(workerID: UInt64, namespace: String) async throws -> LongPrefill {
        let spec = try ModelSpec(parsing: Self.bigModel)
        let context = try ZMQContext()
        let coordinator = try FakeCoordinator(spec: spec, context: context)
        let worker = try await Self.registeredWorker(
            model: Self.bigModel,
            memory: "32MiB",
            coordinator: coordinator,
            workerID: workerID
        )
        let client = try ClusterClient(context: context, endpoint: worker.endpoint, timeout: .seconds(30))
        let tokens = Self.longPrefillTokens
        let sequence = try await client.open(namespace: namespace, tokens: (0..<UInt32(tokens)).map { $0 })
            .sequenceID
        return LongPrefill(
            spec: spec,
            context: context,
            coordinator: coordinator,
            worker: worker,
            client: client,
            sequence: sequence,
            requests: try Self.prefillRequests(spec: spec, sequenceID: sequence, tokens: tokens)
        )
    }

    @Test("heartbeats keep their interval while a long prefill keeps the service busy")
    func heartbeatsDuringLongPrefill() async throws {
        let setup = try await Self.longPrefill(workerID: 7, namespace: "long")
        let (spec, context, coordinator, worker, client) = (
            setup.spec, setup.context, setup.coordinator, setup.worker, setup.client
        )
        defer {
            Task {
                await client.disconnect()
                await coordinator.close()
            }
        }
        let requests = setup.requests

        // Everything the worker sends to its coordinator is taken off the socket as it arrives,
        // until a marker the test sends itself once the prefill is answered; on a thread of its
        // own, so that other tests keeping the shared threads busy cannot delay the arrival times.
        let arrivals = DedicatedThreadExecutor()
        defer { arrivals.stop() }
        let collector = Task(executorPreference: arrivals) {
            () throws -> [(at: ContinuousClock.Instant, body: Heartbeat)] in
            var beats: [(at: ContinuousClock.Instant, body: Heartbeat)] = []
            while true {
                let arrival = try await coordinator.next(timeout: .seconds(300))
                switch arrival.envelope.message {
                case .heartbeat(let body): beats.append((arrival.receivedAt, body))
                case .statsRequest: return beats
                default: continue
                }
            }
        }
        let raw = try ZMQEndpoint(
            .dealer,
            context: context,
            options: ZMQSocketOptions(maxMessageSize: nil),
            connect: [worker.endpoint]
        )
        defer { Task { await raw.close() } }
        let started = ContinuousClock.now
        for request in requests { try await raw.send(request, timeout: .seconds(30)) }
        var answered = 0
        for _ in requests {
            let reply = try Envelope(frames: try await raw.receive(timeout: .seconds(300)))
            if case .prefillReply = reply.message {
                answered += 1
            } else {
                Issue.record("prefill refused: \(reply.message)")
            }
        }
        let finished = ContinuousClock.now
        let marker = try ZMQEndpoint(.dealer, context: context, connect: [coordinator.address])
        try await marker.send(
            try Envelope(requestID: 1, message: .statsRequest(StatsRequest())).encode(),
            timeout: .seconds(5)
        )
        let heartbeats = try await collector.value
        let beats = heartbeats.map(\.at)
        await marker.close()

        #expect(answered == spec.layers)
        // They report the status the service published: the one open sequence (a heartbeat sent
        // before the open was answered may still arrive just after it, so one interval is skipped).
        let afterOpen = heartbeats.filter { $0.at > started + .milliseconds(Self.heartbeatMilliseconds) }
        #expect(!afterOpen.isEmpty)
        #expect(afterOpen.allSatisfy { $0.body.workerID == 7 && $0.body.liveSequences == 1 })
        let interval = Duration.milliseconds(Self.heartbeatMilliseconds)
        // The check covers the busy time: it spanned several intervals, and heartbeats came
        // throughout, from the last one before the prefill to the first one after it.
        let busy = started.duration(to: finished)
        #expect(busy > interval * 4, "the prefill took \(busy): too short to show anything")
        let covering = beats.filter { $0 > started && $0 < finished }
        #expect(covering.count >= 3, "\(covering.count) heartbeats during \(busy)")
        let gaps = zip(beats, beats.dropFirst()).map { $0.duration(to: $1) }
        let longest = gaps.max() ?? .zero
        #expect(
            longest < interval * 3,
            "a gap of \(longest) between heartbeats (interval \(interval)), prefill took \(busy)"
        )
        #expect(worker.terminate() == 0)
    }

    @Test("a refused registration: the worker logs the reason and exits with a failure")
    func refusedRegistration() async throws {
        let spec = try ModelSpec(parsing: Self.smallModel)
        let context = try ZMQContext()
        let coordinator = try FakeCoordinator(spec: spec, context: context)
        defer { Task { await coordinator.close() } }
        let worker = try launchWorker(
            model: Self.smallModel,
            arguments: [
                "--coordinator", coordinator.address, "--worker-id", "33", "--heartbeat",
                "\(Self.heartbeatMilliseconds)",
            ]
        )
        let arrival = try await coordinator.next()
        guard case .registerWorker = arrival.envelope.message else {
            Issue.record("the worker sent \(arrival.envelope.message.type) instead of RegisterWorker")
            return
        }
        try await coordinator.answer(
            arrival,
            with: .registerWorkerReply(RegisterWorkerReply(outcome: .refused(reason: "no room for more workers")))
        )
        let exit = worker.process.waitForExit(within: .seconds(10))
        #expect(exit != nil && exit != .exited(0), "\(worker.process.diagnostics)")
        #expect(worker.process.standardError.contains("no room for more workers"), "\(worker.process.diagnostics)")
    }

    @Test("Drain of a worker with no sequence: it deregisters at once and exits 0")
    func drainWithoutSequences() async throws {
        let spec = try ModelSpec(parsing: Self.smallModel)
        let context = try ZMQContext()
        let coordinator = try FakeCoordinator(spec: spec, context: context)
        defer { Task { await coordinator.close() } }
        let worker = try await Self.registeredWorker(model: Self.smallModel, coordinator: coordinator, workerID: 31)
        let client = try ClusterClient(context: context, endpoint: worker.endpoint, timeout: .seconds(30))
        defer { Task { await client.disconnect() } }

        #expect(try await client.request(.drain(Drain(workerID: 31))) == .ack(Ack()))
        #expect(try await coordinator.acknowledgeDeregistration(timeout: .seconds(5)) == 31)
        #expect(worker.waitForExit(timeout: .seconds(10)) == 0)
    }

    @Test(
        "Drain with an open sequence: new sequences are refused, and the close of the last one ends in a deregistration and exit 0"
    )
    func drainWithOpenSequence() async throws {
        let spec = try ModelSpec(parsing: Self.smallModel)
        let context = try ZMQContext()
        let coordinator = try FakeCoordinator(spec: spec, context: context)
        defer { Task { await coordinator.close() } }
        let worker = try await Self.registeredWorker(model: Self.smallModel, coordinator: coordinator, workerID: 32)
        let client = try ClusterClient(context: context, endpoint: worker.endpoint, timeout: .seconds(30))
        defer { Task { await client.disconnect() } }

        let sequence = try await client.open(namespace: "d", tokens: Array(0..<20)).sequenceID
        #expect(try await client.request(.drain(Drain(workerID: 32))) == .ack(Ack()))

        // The worker stays: a few heartbeats pass, each reporting the open sequence, and nothing
        // else comes (no deregistration). Heartbeats queued before the open was published may
        // still say 0; the first that says 1 starts the count.
        var heartbeats = 0
        var published = false
        while heartbeats < 3 {
            let arrival = try await coordinator.next()
            guard case .heartbeat(let beat) = arrival.envelope.message else {
                Issue.record("the draining worker sent \(arrival.envelope.message.type) while a sequence is open")
                continue
            }
            if !published && beat.liveSequences == 0 { continue }
            published = true
            #expect(beat.liveSequences == 1)
            heartbeats += 1
        }
        await #expect(throws: ClusterClientError.refused(code: .unavailable, message: "worker 32 is draining")) {
            _ = try await client.open(namespace: "d", tokens: [1, 2, 3])
        }

        try await client.close(sequenceID: sequence, commit: false)
        #expect(try await coordinator.acknowledgeDeregistration() == 32)
        #expect(worker.waitForExit(timeout: .seconds(10)) == 0)
    }

    @Test("SIGTERM during a long prefill: the prefill taken is answered, then the worker deregisters and exits 0")
    func terminationAnswersTheRequestInFlight() async throws {
        let setup = try await Self.longPrefill(workerID: 33, namespace: "t")
        let (context, coordinator, worker, client, sequence) = (
            setup.context, setup.coordinator, setup.worker, setup.client, setup.sequence
        )
        defer {
            Task {
                await client.disconnect()
                await coordinator.close()
            }
        }
        let requests = setup.requests.prefix(2)

        let raw = try ZMQEndpoint(
            .dealer,
            context: context,
            options: ZMQSocketOptions(maxMessageSize: nil),
            connect: [worker.endpoint]
        )
        defer { Task { await raw.close() } }
        for request in requests { try await raw.send(request, timeout: .seconds(30)) }
        // Requests are served in order: once layer 0 is answered, the worker has taken layer 1 (it
        // was waiting), and the signal comes while its kernels run.
        let first = try Envelope(frames: try await raw.receive(timeout: .seconds(120)))
        worker.sendTermination()
        let second = try Envelope(frames: try await raw.receive(timeout: .seconds(120)))
        for reply in [first, second] {
            guard case .prefillReply(let body) = reply.message else {
                Issue.record("request \(reply.requestID) was answered \(reply.message)")
                continue
            }
            #expect(body.sequenceID == sequence)
            #expect(UInt64(body.layer) + 1 == reply.requestID)
        }
        #expect(try await coordinator.acknowledgeDeregistration(timeout: .seconds(30)) == 33)
        #expect(worker.waitForExit(timeout: .seconds(10)) == 0)
    }

    @Test("a coordinator that never answers the deregistration: the worker still exits 0 after its bounded wait")
    func unansweredDeregistration() async throws {
        let spec = try ModelSpec(parsing: Self.smallModel)
        let context = try ZMQContext()
        let coordinator = try FakeCoordinator(spec: spec, context: context)
        defer { Task { await coordinator.close() } }
        let worker = try await Self.registeredWorker(model: Self.smallModel, coordinator: coordinator, workerID: 34)

        worker.sendTermination()
        let arrival = try await coordinator.nextOtherThanHeartbeat()
        guard case .deregisterWorker(let body) = arrival.envelope.message else {
            Issue.record("expected DeregisterWorker, the worker sent \(arrival.envelope.message.type)")
            return
        }
        #expect(body.workerID == 34)
        #expect(worker.waitForExit(timeout: .seconds(15)) == 0)
    }
}

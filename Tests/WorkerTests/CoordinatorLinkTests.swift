import CacheProtocol
import Testing

@testable import Worker

/// The registration state machine, without sockets.
@Suite("CoordinatorLink")
struct CoordinatorLinkTests {
    static func link(droppedEvents: Set<UInt64> = []) throws -> (CoordinatorLink, ModelSpec) {
        let spec = try ModelSpec(parsing: "name=m,layers=1,q-heads=2,kv-heads=1,head-dim=8,kv=f32")
        let registration = RegisterWorker(
            workerID: 5,
            endpoint: "tcp://127.0.0.1:7100",
            role: .compute,
            hotPageCapacity: 10,
            storeBytes: 0,
            modelFingerprint: spec.fingerprint
        )
        return (CoordinatorLink(registration: registration, droppedEvents: droppedEvents), spec)
    }

    static let status = CoordinatorLink.Status(liveSequences: 2, freePages: 7, cachedPages: 3)

    static func sent(_ directives: [CoordinatorLink.Directive]) -> [Envelope] {
        directives.compactMap { if case .send(let envelope) = $0 { envelope } else { nil } }
    }

    @Test("an answer to a registration sent before a retry still registers the worker")
    func lateAnswerAfterRetry() throws {
        var (link, spec) = try Self.link()
        let first = try #require(Self.sent(link.start()).first)
        var retry: [Envelope] = []
        for _ in 0..<CoordinatorLink.registrationRetryTicks { retry += Self.sent(link.tick(status: Self.status)) }
        let second = try #require(retry.first)
        guard case .registerWorker = second.message else { throw ServiceError.internal("no retry") }
        #expect(second.requestID != first.requestID)
        _ = link.received(
            Envelope(
                requestID: first.requestID,
                message: .registerWorkerReply(RegisterWorkerReply(outcome: .accepted(spec)))
            )
        )
        #expect(link.state == .registered)
    }

    @Test("registers, then heartbeats with the last event sent; events flow only once registered")
    func registerAndHeartbeat() throws {
        var (link, spec) = try Self.link()
        let register = Self.sent(link.start())
        #expect(register.count == 1)
        guard case .registerWorker = register.first?.message else { throw ServiceError.internal("no registration") }
        let event = CacheEvent(workerID: 5, eventSequence: 1, kind: .stored, keys: [])
        #expect(link.publish([.held(event)]).isEmpty)
        #expect(link.tick(status: Self.status).isEmpty)
        // A reply to another request id is ignored.
        #expect(
            link.received(
                Envelope(requestID: 999, message: .registerWorkerReply(RegisterWorkerReply(outcome: .accepted(spec))))
            ).isEmpty
        )
        #expect(link.state != .registered)
        _ = link.received(
            Envelope(
                requestID: register[0].requestID,
                message: .registerWorkerReply(RegisterWorkerReply(outcome: .accepted(spec)))
            )
        )
        #expect(link.state == .registered)
        let second = CacheEvent(workerID: 5, eventSequence: 2, kind: .removed, keys: [])
        #expect(Self.sent(link.publish([.held(second)])) == [Envelope(requestID: 0, message: .cacheEvent(second))])
        // To a 1.0 coordinator (RegisterWorkerReply) a tier move goes as `stored` of the same number.
        let moved = CacheTierEvent(workerID: 5, eventSequence: 3, tier: .compressedMemory, keys: [])
        #expect(
            Self.sent(link.publish([.tier(moved)])).map(\.message) == [
                .cacheEvent(CacheEvent(workerID: 5, eventSequence: 3, kind: .stored, keys: []))
            ]
        )
        let heartbeat = Self.sent(link.tick(status: Self.status))
        #expect(
            heartbeat.first?.message
                == .heartbeat(
                    Heartbeat(workerID: 5, liveSequences: 2, freePages: 7, cachedPages: 3, lastEventSequence: 3)
                )
        )
    }

    @Test("a 1.1 coordinator's acceptance sets the heartbeat interval, and heartbeats become reports")
    func acceptedWithTerms() throws {
        var (link, spec) = try Self.link()
        let register = Self.sent(link.start())
        let terms = RegisterWorkerAccepted(spec: spec, heartbeatMilliseconds: 250, deadAfterHeartbeats: 4)
        let directives = link.received(
            Envelope(requestID: register[0].requestID, message: .registerWorkerAccepted(terms))
        )
        #expect(directives == [.heartbeatEvery(.milliseconds(250))])
        #expect(link.state == .registered)
        #expect(link.terms == terms)
        var status = Self.status
        status.evictablePages = 2
        status.peerPagesReceived = 5
        status.peerBytesReceivedRaw = 5000
        status.peerBytesReceivedEncoded = 1200
        let beat = Self.sent(link.tick(status: status))
        #expect(
            beat.first?.message
                == .heartbeatReport(
                    HeartbeatReport(
                        heartbeat: Heartbeat(
                            workerID: 5,
                            liveSequences: 2,
                            freePages: 7,
                            cachedPages: 3,
                            lastEventSequence: 0
                        ),
                        evictablePages: 2,
                        peerPagesReceived: 5,
                        peerBytesReceivedRaw: 5000,
                        peerBytesReceivedEncoded: 1200
                    )
                )
        )
        // To a 1.1 coordinator a tier move goes as CacheTierEvent.
        let moved = CacheTierEvent(workerID: 5, eventSequence: 1, tier: .disk, keys: [])
        #expect(Self.sent(link.publish([.tier(moved)])).map(\.message) == [.cacheTierEvent(moved)])
        // An acceptance of another model refuses, as RegisterWorkerReply's does.
        var (other, _) = try Self.link()
        let again = Self.sent(other.start())
        let otherSpec = try ModelSpec(parsing: "name=n,layers=1,q-heads=2,kv-heads=1,head-dim=8,kv=f32")
        let refused = other.received(
            Envelope(
                requestID: again[0].requestID,
                message: .registerWorkerAccepted(
                    RegisterWorkerAccepted(spec: otherSpec, heartbeatMilliseconds: 250, deadAfterHeartbeats: 4)
                )
            )
        )
        guard case .refused? = refused.first else {
            Issue.record("another model was not refused: \(refused)")
            return
        }
    }

    @Test("events numbered for dropping are not sent, yet heartbeats name them as sent, as a lost event would")
    func droppedEvents() throws {
        var (link, spec) = try Self.link(droppedEvents: [2, 4])
        let register = try #require(Self.sent(link.start()).first)
        _ = link.received(
            Envelope(
                requestID: register.requestID,
                message: .registerWorkerReply(RegisterWorkerReply(outcome: .accepted(spec)))
            )
        )
        let events = (1...3).map { CacheEvent(workerID: 5, eventSequence: $0, kind: .stored, keys: []) }
        #expect(
            Self.sent(link.publish(events.map { .held($0) }))
                == [events[0], events[2]].map { Envelope(requestID: 0, message: .cacheEvent($0)) }
        )
        // A tier move is numbered in the same stream and dropped the same way.
        let moved = CacheTierEvent(workerID: 5, eventSequence: 4, tier: .disk, keys: [])
        #expect(link.publish([.tier(moved)]).isEmpty)
        var heartbeat: Heartbeat?
        if case .heartbeat(let body)? = Self.sent(link.tick(status: Self.status)).first?.message { heartbeat = body }
        #expect(heartbeat?.lastEventSequence == 4)
    }

    @Test("notRegistered makes the link register again; an unanswered registration is repeated")
    func reRegister() throws {
        var (link, spec) = try Self.link()
        let first = Self.sent(link.start())[0]
        for _ in 1..<CoordinatorLink.registrationRetryTicks { #expect(link.tick(status: Self.status).isEmpty) }
        let repeated = Self.sent(link.tick(status: Self.status))
        #expect(repeated.count == 1)
        #expect(repeated[0].requestID != first.requestID)
        _ = link.received(
            Envelope(
                requestID: repeated[0].requestID,
                message: .registerWorkerReply(RegisterWorkerReply(outcome: .accepted(spec)))
            )
        )
        let again = Self.sent(
            link.received(
                Envelope(requestID: 4, message: .errorReply(ErrorReply(code: .notRegistered, message: "restarted")))
            )
        )
        guard case .registerWorker = again.first?.message else { throw ServiceError.internal("no re-registration") }
        #expect(link.state == .registering(requestID: again[0].requestID))
    }

    @Test("a refusal or another model stops the link")
    func refused() throws {
        var (link, _) = try Self.link()
        let id = Self.sent(link.start())[0].requestID
        let other = try ModelSpec(parsing: "name=other,layers=1,q-heads=2,kv-heads=1,head-dim=8,kv=f32")
        let directives = link.received(
            Envelope(requestID: id, message: .registerWorkerReply(RegisterWorkerReply(outcome: .accepted(other))))
        )
        guard case .refused? = directives.first else { throw ServiceError.internal("not refused") }
        #expect(link.tick(status: Self.status).isEmpty)
        var (second, _) = try Self.link()
        let secondID = Self.sent(second.start())[0].requestID
        #expect(
            second.received(
                Envelope(
                    requestID: secondID,
                    message: .registerWorkerReply(RegisterWorkerReply(outcome: .refused(reason: "full")))
                )
            ) == [.refused(reason: "full")]
        )
        #expect(second.state == .refused(reason: "full"))
    }

    @Test("deregister sends DeregisterWorker once registered, stops heartbeats, and leaves on its answer")
    func deregister() throws {
        var (link, spec) = try Self.link()
        let id = Self.sent(link.start())[0].requestID
        _ = link.received(
            Envelope(requestID: id, message: .registerWorkerReply(RegisterWorkerReply(outcome: .accepted(spec))))
        )
        let sent = Self.sent(link.deregister())
        #expect(sent.map(\.message) == [.deregisterWorker(DeregisterWorker(workerID: 5))])
        let request = try #require(sent.first).requestID
        #expect(link.state == .deregistering(requestID: request))
        #expect(!link.isFinished)
        #expect(link.tick(status: Self.status).isEmpty)
        let event = CacheEvent(workerID: 5, eventSequence: 1, kind: .stored, keys: [])
        #expect(link.publish([.held(event)]).isEmpty)
        // The answer to an earlier heartbeat, or notRegistered for it, changes nothing.
        #expect(link.received(Envelope(requestID: request - 1, message: .ack(Ack()))).isEmpty)
        #expect(
            link.received(
                Envelope(
                    requestID: request - 1,
                    message: .errorReply(ErrorReply(code: .notRegistered, message: "restarted"))
                )
            ).isEmpty
        )
        #expect(link.state == .deregistering(requestID: request))
        #expect(link.received(Envelope(requestID: request, message: .ack(Ack()))).isEmpty)
        #expect(link.state == .left)
        #expect(link.isFinished)
        #expect(link.tick(status: Self.status).isEmpty)

        // notRegistered as the answer also ends it.
        var (other, _) = try Self.link()
        let otherID = Self.sent(other.start())[0].requestID
        _ = other.received(
            Envelope(requestID: otherID, message: .registerWorkerReply(RegisterWorkerReply(outcome: .accepted(spec))))
        )
        let otherRequest = try #require(Self.sent(other.deregister()).first).requestID
        _ = other.received(
            Envelope(
                requestID: otherRequest,
                message: .errorReply(ErrorReply(code: .notRegistered, message: "unknown"))
            )
        )
        #expect(other.state == .left)
    }

    @Test("a worker that is not registered has nothing to deregister")
    func deregisterUnregistered() throws {
        var (idle, _) = try Self.link()
        #expect(idle.deregister().isEmpty)
        #expect(idle.state == .left)
        var (registering, _) = try Self.link()
        _ = registering.start()
        #expect(registering.deregister().isEmpty)
        #expect(registering.isFinished)
        var (refused, _) = try Self.link()
        let id = Self.sent(refused.start())[0].requestID
        _ = refused.received(
            Envelope(
                requestID: id,
                message: .registerWorkerReply(RegisterWorkerReply(outcome: .refused(reason: "full")))
            )
        )
        #expect(refused.deregister().isEmpty)
        #expect(refused.state == .refused(reason: "full"))
        #expect(refused.isFinished)
    }
}

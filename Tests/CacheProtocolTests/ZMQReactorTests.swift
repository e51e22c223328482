import Foundation
import Synchronization
import Testing

@testable import CacheProtocol

/// `ZMQReactor`: several sockets on one thread, handlers on that thread, sends from any thread.
@Suite("ZeroMQ reactor", .timeLimit(.minutes(1)))
struct ZMQReactorTests {
    let context: ZMQContext

    init() throws {
        context = try ZMQContext()
    }

    @Test("a relay forwards a request from one socket to another and the answer back, on its own thread")
    func relay() async throws {
        let backend = try ZMQEndpoint(.router, context: context, bind: ["tcp://127.0.0.1:*"])
        let reactor = try ZMQReactor(context: context)
        let front = try reactor.open(.router, bind: ["tcp://127.0.0.1:*"])
        let back = try reactor.open(.dealer, connect: backend.boundEndpoints)
        let client = try ZMQEndpoint(.dealer, context: context, connect: front.bound)
        let handlerThreads = Mutex<Set<UInt>>([])
        // The relay remembers the client's identity and passes each message on.
        let caller = Mutex<[UInt8]?>(nil)
        try reactor.start { socket, frames in
            handlerThreads.withLock { _ = $0.insert(UInt(pthread_self())) }
            if socket == front.id {
                caller.withLock { $0 = Array(frames[0]) }
                reactor.send(frames.dropFirst().map { Array($0) }, on: back.id)
            } else if let identity = caller.withLock({ $0 }) {
                reactor.send([identity] + frames.map { Array($0) }, on: front.id)
            }
        }

        for round in 0..<3 {
            try await client.send([Array("request \(round)".utf8)], timeout: .seconds(5))
            let request = try await backend.receive(timeout: .seconds(10))
            #expect(Array(request[1]) == Array("request \(round)".utf8))
            try await backend.send([Array(request[0]), Array("answer \(round)".utf8)], timeout: .seconds(5))
            let answer = try await client.receive(timeout: .seconds(10))
            #expect(answer.map { Array($0) } == [Array("answer \(round)".utf8)])
        }
        #expect(handlerThreads.withLock { $0.count } == 1)
        #expect(!handlerThreads.withLock { $0.contains(UInt(pthread_self())) })

        await reactor.close()
        await client.close()
        await backend.close()
    }

    @Test("sends and posted work from other threads run on the reactor's thread, in order")
    func postedWork() async throws {
        let sink = try ZMQEndpoint(.router, context: context, bind: ["tcp://127.0.0.1:*"])
        let reactor = try ZMQReactor(context: context)
        let out = try reactor.open(.dealer, connect: sink.boundEndpoints)
        let reactorThread = Mutex<UInt?>(nil)
        try reactor.start { _, _ in }
        let ran = await withCheckedContinuation { continuation in
            reactor.post {
                reactorThread.withLock { $0 = UInt(pthread_self()) }
                continuation.resume(returning: true)
            }
        }
        #expect(ran)
        #expect(reactorThread.withLock { $0 } != UInt(pthread_self()))
        for index in 0..<20 { reactor.send([Array("message \(index)".utf8)], on: out.id) }
        for index in 0..<20 {
            let frames = try await sink.receive(timeout: .seconds(10))
            #expect(Array(frames[1]) == Array("message \(index)".utf8))
        }
        await reactor.close()
        await sink.close()
    }

    @Test("ticks come on schedule; a send refused, timed out or to a closed socket fails")
    func ticksAndFailures() async throws {
        let reactor = try ZMQReactor(context: context)
        let router = try reactor.open(.router, bind: ["tcp://127.0.0.1:*"])
        // A DEALER connected to nothing queues up to its high-water mark, then can no longer send.
        let stranded = try reactor.open(
            .dealer,
            options: ZMQSocketOptions(linger: .zero, highWaterMark: 1),
            connect: ["tcp://127.0.0.1:1"]
        )
        let ticks = Atomic<Int>(0)
        try reactor.start(tickInterval: .milliseconds(10), onTick: { ticks.add(1, ordering: .relaxed) }) { _, _ in }
        let failures = Mutex<[TransportError]>([])
        let refused = await withCheckedContinuation { continuation in
            reactor.send([Array("nobody".utf8), [1]], on: router.id) { continuation.resume(returning: $0) }
        }
        if case .zmq(let operation, _, _) = refused {
            #expect(operation == "zmq_msg_send")
        } else {
            Issue.record("a send to an unknown identity failed with \(refused)")
        }
        for _ in 0..<64 {
            reactor.send([[1]], on: stranded.id, timeout: .milliseconds(100)) { error in
                failures.withLock { $0.append(error) }
            }
        }
        let deadline = ContinuousClock.now + .seconds(10)
        while failures.withLock({ $0.isEmpty }), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(failures.withLock { $0.first } == .timedOut(operation: "send", timeout: .milliseconds(100)))
        reactor.close(stranded.id)
        let closed = await withCheckedContinuation { continuation in
            reactor.send([[1]], on: stranded.id) { continuation.resume(returning: $0) }
        }
        #expect(closed == .closed)
        #expect(ticks.load(ordering: .relaxed) >= 3)

        // After close, a send fails at once.
        await reactor.close()
        let afterClose = Mutex<TransportError?>(nil)
        reactor.send([[1]], on: router.id) { error in afterClose.withLock { $0 = error } }
        #expect(afterClose.withLock { $0 } == .closed)
    }

    @Test("stopReceiving leaves what arrives unread while sends go on")
    func stopReceiving() async throws {
        let reactor = try ZMQReactor(context: context)
        let server = try reactor.open(.router, bind: ["tcp://127.0.0.1:*"])
        let client = try ZMQEndpoint(.dealer, context: context, connect: server.bound)
        let received = Atomic<Int>(0)
        let identity = Mutex<[UInt8]?>(nil)
        try reactor.start { _, frames in
            received.add(1, ordering: .relaxed)
            identity.withLock { $0 = Array(frames[0]) }
        }
        try await client.send([Array("first".utf8)], timeout: .seconds(5))
        let deadline = ContinuousClock.now + .seconds(10)
        while received.load(ordering: .relaxed) == 0, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        reactor.stopReceiving()
        try await client.send([Array("second".utf8)], timeout: .seconds(5))
        let peer = try #require(identity.withLock { $0 })
        reactor.send([peer, Array("answer".utf8)], on: server.id)
        let answer = try await client.receive(timeout: .seconds(10))
        #expect(answer.map { Array($0) } == [Array("answer".utf8)])
        try await Task.sleep(for: .milliseconds(100))
        #expect(received.load(ordering: .relaxed) == 1)
        await reactor.close()
        await client.close()
    }
}

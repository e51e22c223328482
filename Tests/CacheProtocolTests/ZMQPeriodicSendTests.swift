import Foundation
import Synchronization
import Testing

@testable import CacheProtocol

/// `ZMQEndpoint.post` (queue without waiting) and `sendPeriodically` (messages made and sent by the
/// endpoint's own thread on a schedule).
@Suite("ZeroMQ post and periodic sends", .timeLimit(.minutes(1)))
struct ZMQPeriodicSendTests {
    let context: ZMQContext

    init() throws {
        context = try ZMQContext()
    }

    /// The text of a DEALER's message as a ROUTER receives it (identity frame first).
    static func text(_ frames: [ZMQFrame]) -> String {
        String(decoding: Array(frames[1]), as: UTF8.self)
    }

    @Test("posted messages go out in the order they were queued, before a message sent after them")
    func postKeepsOrder() async throws {
        let server = try ZMQEndpoint(.router, context: context, bind: ["tcp://127.0.0.1:*"])
        let client = try ZMQEndpoint(.dealer, context: context, connect: server.boundEndpoints)
        for index in 0..<100 { client.post([Array("m\(index)".utf8)], timeout: .seconds(10)) }
        try await client.send([Array("last".utf8)], timeout: .seconds(10))
        var received: [String] = []
        for _ in 0...100 { received.append(Self.text(try await server.receive(timeout: .seconds(10)))) }
        #expect(received == (0..<100).map { "m\($0)" } + ["last"])
        await client.close()
        await server.close()
    }

    @Test("a post to a closed endpoint reports closed")
    func postAfterClose() async throws {
        let client = try ZMQEndpoint(.dealer, context: context, connect: ["tcp://127.0.0.1:9"])
        await client.close()
        let failure = Mutex<TransportError?>(nil)
        client.post([[1]]) { error in failure.withLock { $0 = error } }
        #expect(failure.withLock { $0 } == .closed)
        client.post([]) { error in failure.withLock { $0 = error } }
        #expect(failure.withLock { $0 } == .emptyMessage)
    }

    @Test("the endpoint's thread makes and sends a tick's messages each interval until stopped")
    func periodicSends() async throws {
        let server = try ZMQEndpoint(.router, context: context, bind: ["tcp://127.0.0.1:*"])
        let client = try ZMQEndpoint(.dealer, context: context, connect: server.boundEndpoints)
        // Connected first: a tick's message that cannot go out within one interval is dropped.
        try await client.send([Array("hello".utf8)], timeout: .seconds(10))
        #expect(Self.text(try await server.receive(timeout: .seconds(10))) == "hello")
        let ticks = Atomic<Int>(0)
        client.sendPeriodically(every: .milliseconds(50)) {
            let tick = ticks.wrappingAdd(1, ordering: .relaxed).newValue
            return [[Array("tick \(tick) a".utf8)], [Array("tick \(tick) b".utf8)]]
        }
        var received: [String] = []
        for _ in 0..<6 { received.append(Self.text(try await server.receive(timeout: .seconds(10)))) }
        #expect(received == ["tick 1 a", "tick 1 b", "tick 2 a", "tick 2 b", "tick 3 a", "tick 3 b"])

        client.stopPeriodicSends()
        let ticksAtStop = ticks.load(ordering: .relaxed)
        try await client.send([Array("marker".utf8)], timeout: .seconds(10))
        var afterStop: [String] = []
        while true {
            let text = Self.text(try await server.receive(timeout: .seconds(10)))
            if text == "marker" { break }
            afterStop.append(text)
        }
        // Only the ticks made before the stop (at most one of them still running) are sent.
        #expect(ticks.load(ordering: .relaxed) <= ticksAtStop + 1)
        #expect(afterStop.allSatisfy { $0.hasPrefix("tick ") })
        await client.close()
        await server.close()
    }
}

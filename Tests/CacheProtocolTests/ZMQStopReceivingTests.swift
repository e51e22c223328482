import Foundation
import Testing

@testable import CacheProtocol

/// `ZMQEndpoint.stopReceiving()`: a server stops taking requests and still answers those it took.
@Suite("ZeroMQ stop receiving", .timeLimit(.minutes(1)))
struct ZMQStopReceivingTests {
    let context: ZMQContext

    init() throws {
        context = try ZMQContext()
    }

    @Test("a waiting receive and every later one fail with receivingStopped; the taken request is still answered")
    func stopReceivingKeepsSending() async throws {
        let server = try ZMQEndpoint(.router, context: context, bind: ["tcp://127.0.0.1:*"])
        let client = try ZMQEndpoint(.dealer, context: context, connect: server.boundEndpoints)

        try await client.send([Array("question".utf8)], timeout: .seconds(5))
        let taken = try await server.receive(timeout: .seconds(10))
        #expect(taken.count == 2)
        #expect(Array(taken[1]) == Array("question".utf8))

        // A receive with no timeout waits until receiving stops.
        let waiting = Task { () -> TransportError? in
            do throws(TransportError) {
                _ = try await server.receive()
                return nil
            } catch {
                return error
            }
        }
        try await Task.sleep(for: .milliseconds(50))
        server.stopReceiving()
        #expect(await waiting.value == .receivingStopped)
        await #expect(throws: TransportError.receivingStopped) { _ = try await server.receive() }

        // What arrives now is not handed out, and the answer to the taken request still goes out.
        try await client.send([Array("too late".utf8)], timeout: .seconds(5))
        try await server.send([Array(taken[0]), Array("answer".utf8)], timeout: .seconds(5))
        let answer = try await client.receive(timeout: .seconds(10))
        #expect(answer.map { Array($0) } == [Array("answer".utf8)])
        await #expect(throws: TransportError.receivingStopped) {
            _ = try await server.receive(timeout: .milliseconds(100))
        }

        server.stopReceiving()
        await server.close()
        await #expect(throws: TransportError.closed) { _ = try await server.receive() }
        await client.close()
    }
}

import Testing

@testable import CacheProtocol

/// `ClusterClient` against a scripted ROUTER standing in for a worker or coordinator.
@Suite("ClusterClient", .timeLimit(.minutes(1)))
struct ClusterClientTests {
    @Test("concurrent requests get their own answers in any order; ErrorReply and wrong answers are typed errors")
    func answers() async throws {
        let context = try ZMQContext()
        let server = try ZMQEndpoint(.router, context: context, bind: ["tcp://127.0.0.1:*"])
        let client = try ClusterClient(
            context: context,
            endpoint: try #require(server.boundEndpoints.first),
            timeout: .seconds(10)
        )
        let serving = Task {
            var requests: [([UInt8], Envelope)] = []
            for _ in 0..<4 {
                let frames = try await server.receive(timeout: .seconds(10))
                requests.append((Array(frames[0]), try Envelope(frames: Array(frames.dropFirst()))))
            }
            // Answer in reverse order of arrival.
            for (identity, request) in requests.reversed() {
                let answer: Message
                switch request.message {
                case .openSequence(let body):
                    answer = .openSequenceReply(
                        OpenSequenceReply(sequenceID: UInt64(body.tokens.count), cachedTokens: 16)
                    )
                case .truncate: answer = .errorReply(ErrorReply(code: .unknownSequence, message: "no such sequence"))
                case .statsRequest: answer = .statsReply(StatsReply(counters: [.init(name: "requests", value: 4)]))
                default: answer = .ack(Ack())
                }
                try await server.send(
                    [identity] + Envelope(requestID: request.requestID, message: answer).encode(),
                    timeout: .seconds(5)
                )
            }
        }
        let opened = Task { try await client.open(namespace: "n", tokens: [1, 2, 3]) }
        let truncated = Task { try await client.truncate(sequenceID: 9, length: 0) }
        let stats = Task { try await client.stats() }
        let pages = Task { try await client.getPages([]) }
        #expect(try await opened.value == (sequenceID: 3, cachedTokens: 16))
        await #expect(throws: ClusterClientError.refused(code: .unknownSequence, message: "no such sequence")) {
            try await truncated.value
        }
        #expect(try await stats.value == ["requests": 4])
        await #expect(throws: ClusterClientError.unexpectedReply(expected: .pageGetReply, received: .ack)) {
            _ = try await pages.value
        }
        try await serving.value
        await client.disconnect()
        await server.close()
    }

    @Test("no answer in time is a transport timeout")
    func timeout() async throws {
        let context = try ZMQContext()
        let server = try ZMQEndpoint(.router, context: context, bind: ["tcp://127.0.0.1:*"])
        let client = try ClusterClient(
            context: context,
            endpoint: try #require(server.boundEndpoints.first),
            timeout: .milliseconds(200)
        )
        do {
            _ = try await client.stats()
            Issue.record("a request without an answer returned")
        } catch {
            guard case .transport(.timedOut) = error else { throw error }
        }
        await client.disconnect()
        await server.close()
    }
}

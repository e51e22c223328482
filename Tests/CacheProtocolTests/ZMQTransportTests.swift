import Foundation
import Testing

@testable import CacheProtocol

@Suite("ZeroMQ transport", .timeLimit(.minutes(1)))
struct ZMQTransportTests {
    let context: ZMQContext

    init() throws {
        context = try ZMQContext()
    }

    /// The request id is the first 8 bytes of frame 0, little-endian.
    static let requestID: @Sendable (any FrameBytes) -> UInt64? = { frame0 in
        frame0.withUnsafeBytes { $0.count >= 8 ? UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) : nil }
    }

    /// The bytes of received frames, to compare with the frames sent.
    static func bytes(_ frames: [ZMQFrame]) -> [[UInt8]] {
        frames.map { Array($0) }
    }

    static func idFrame(_ id: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: id >> (8 * $0)) }
    }

    /// A ROUTER on a fresh loopback port.
    func router(
        _ options: ZMQSocketOptions = ZMQSocketOptions(),
        at address: String = "tcp://127.0.0.1:*"
    ) throws -> ZMQEndpoint {
        try ZMQEndpoint(.router, context: context, options: options, bind: [address])
    }

    @Test("requests over DEALER/ROUTER are matched to replies sent in reverse order")
    func outOfOrderReplies() async throws {
        let server = try router()
        let client = try ZMQRequester(context: context, connect: server.boundEndpoints, requestID: Self.requestID)
        let ids: [UInt64] = [11, 22, 33]
        let serving = Task {
            var requests: [[ZMQFrame]] = []
            for _ in ids { requests.append(try await server.receive(timeout: .seconds(10))) }
            for request in requests.reversed() {
                let id = try #require(Self.requestID(request[1]))
                try await server.send(
                    [Array(request[0]), Self.idFrame(id), Array("reply \(id)".utf8)],
                    timeout: .seconds(5)
                )
            }
        }
        let replies = try await withThrowingTaskGroup(of: (UInt64, [[UInt8]]).self) { group in
            for id in ids {
                group.addTask {
                    (
                        id,
                        Self.bytes(
                            try await client.request(
                                [Self.idFrame(id), Array("ask \(id)".utf8)],
                                timeout: .seconds(10)
                            )
                        )
                    )
                }
            }
            var all: [UInt64: [[UInt8]]] = [:]
            for try await (id, reply) in group { all[id] = reply }
            return all
        }
        try await serving.value
        for id in ids {
            #expect(replies[id] == [Self.idFrame(id), Array("reply \(id)".utf8)])
        }
        await client.close()
        await server.close()
    }

    @Test("multipart messages keep empty frames and a 1 MiB frame intact both ways")
    func multipartAndLargeFrames() async throws {
        let server = try router()
        let client = try ZMQEndpoint(.dealer, context: context, connect: server.boundEndpoints)
        let big = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }
        let message: [[UInt8]] = [[], Self.idFrame(7), [], big, [1]]
        try await client.send(message, timeout: .seconds(5))
        let received = Self.bytes(try await server.receive(timeout: .seconds(5)))
        #expect(Array(received.dropFirst()) == message)
        try await server.send(received, timeout: .seconds(5))
        #expect(Self.bytes(try await client.receive(timeout: .seconds(5))) == message)
        await client.close()
        await server.close()
    }

    @Test("received frames are read in place, compare by their bytes, and outlive their endpoint")
    func receivedFrames() async throws {
        let pull = try ZMQEndpoint(
            .pull,
            context: context,
            options: ZMQSocketOptions(maxMessageSize: nil),
            bind: ["tcp://127.0.0.1:*"]
        )
        let push = try ZMQEndpoint(.push, context: context, connect: pull.boundEndpoints)
        let big = (0..<(1 << 20) + 3).map { UInt8(truncatingIfNeeded: $0 &* 40_503 >> 7) }
        let sent: [[UInt8]] = [[], [5], Array("short".utf8), big, big]
        try await push.send(sent, timeout: .seconds(5))
        let frames = try await pull.receive(timeout: .seconds(5))
        await push.close()
        await pull.close()
        #expect(frames.map(\.count) == sent.map(\.count))
        #expect(frames[3] == frames[4])
        #expect(frames[2] != frames[1])
        #expect(frames[0] != frames[1])
        #expect(frames[3].withUnsafeBytes { $0.elementsEqual(big) })
        #expect(frames[0].withUnsafeBytes { $0.isEmpty })
        #expect(Self.bytes(frames) == sent)
        #expect("\(frames[3])" == "ZMQFrame(1048579 bytes)")
    }

    @Test("an envelope decodes from received frames as from the frames that were sent")
    func envelopeFromReceivedFrames() async throws {
        let pull = try ZMQEndpoint(
            .pull,
            context: context,
            options: ZMQSocketOptions(maxMessageSize: nil),
            bind: ["tcp://127.0.0.1:*"]
        )
        let push = try ZMQEndpoint(.push, context: context, connect: pull.boundEndpoints)
        let pages = (0..<3).map { index in
            EncodedPage(
                key: PrefixKey(digest: Digest32(sha256: [UInt8(index)])),
                bytes: (0..<(40_000 * (index + 1))).map { UInt8(truncatingIfNeeded: $0 ^ index) }
            )
        }
        let envelope = Envelope(requestID: 99, message: .pagePut(PagePut(pages: pages)))
        let sent = try envelope.encode()
        try await push.send(sent, timeout: .seconds(5))
        let received = try await pull.receive(timeout: .seconds(5))
        #expect(try Envelope(frames: received) == envelope)
        #expect(try Envelope(frames: received) == Envelope(frames: sent))
        #expect(MessageHeader.requestID(ofRefused: received[0]) == 99)
        #expect(throws: WireError.self) { try Envelope(frames: Array(received.dropLast())) }
        await push.close()
        await pull.close()
    }

    @Test("receive, send and request time out with typed errors")
    func timeouts() async throws {
        let server = try router()
        await #expect(throws: TransportError.timedOut(operation: "receive", timeout: .milliseconds(50))) {
            try await server.receive(timeout: .milliseconds(50))
        }
        let lonely = try ZMQEndpoint(.dealer, context: context)
        await #expect(throws: TransportError.timedOut(operation: "send", timeout: .milliseconds(50))) {
            try await lonely.send([[1]], timeout: .milliseconds(50))
        }
        let client = try ZMQRequester(context: context, connect: server.boundEndpoints, requestID: Self.requestID)
        await #expect(throws: TransportError.timedOut(operation: "request", timeout: .milliseconds(200))) {
            try await client.request([Self.idFrame(1)], timeout: .milliseconds(200))
        }
        await #expect(throws: TransportError.missingRequestID) {
            try await client.request([[1, 2]], timeout: .seconds(1))
        }
        await #expect(throws: TransportError.emptyMessage) { try await server.send([], timeout: .seconds(1)) }
        await #expect(throws: TransportError.self) { try await server.send([[9, 9, 9], [1]], timeout: .seconds(1)) }
        await client.close()
        await lonely.close()
        await server.close()
    }

    /// A receive that waits with no deadline or a far one does not wake the socket thread; a later
    /// receive with an earlier deadline must still wake it and time out, and the earlier waiters
    /// still get the next messages in order.
    @Test("an early receive deadline behind waiters with none or later ones still times out")
    func earlyDeadlineBehindLaterWaiters() async throws {
        let pull = try ZMQEndpoint(.pull, context: context, bind: ["tcp://127.0.0.1:*"])
        let push = try ZMQEndpoint(.push, context: context, connect: pull.boundEndpoints)
        let patient = Task { try await pull.receive() }
        let far = Task { try await pull.receive(timeout: .seconds(60)) }
        await #expect(throws: TransportError.timedOut(operation: "receive", timeout: .milliseconds(100))) {
            try await pull.receive(timeout: .milliseconds(100))
        }
        try await push.send([[1]], timeout: .seconds(5))
        try await push.send([[2]], timeout: .seconds(5))
        let received = Set([Self.bytes(try await patient.value), Self.bytes(try await far.value)])
        #expect(received == [[[1]], [[2]]])
        await push.close()
        await pull.close()
    }

    @Test("IPv6 loopback and ipc endpoints carry messages")
    func ipv6AndIPC() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mfa-zmq-\(UUID().uuidString).sock")
            .path
        defer { try? FileManager.default.removeItem(atPath: path) }
        for address in ["tcp://[::1]:*", "ipc://\(path)"] {
            let pull = try ZMQEndpoint(.pull, context: context, bind: [address])
            let push = try ZMQEndpoint(.push, context: context, connect: pull.boundEndpoints)
            try await push.send([Array(address.utf8), [0, 1, 2]], timeout: .seconds(5))
            #expect(
                Self.bytes(try await pull.receive(timeout: .seconds(5))) == [Array(address.utf8), [0, 1, 2]],
                "\(address)"
            )
            await push.close()
            await pull.close()
        }
    }

    @Test("a frame above the receiver's max message size is refused")
    func maxMessageSize() async throws {
        let pull = try ZMQEndpoint(
            .pull,
            context: context,
            options: ZMQSocketOptions(maxMessageSize: 1024),
            bind: ["tcp://127.0.0.1:*"]
        )
        let push = try ZMQEndpoint(.push, context: context, connect: pull.boundEndpoints)
        try await push.send([[UInt8](repeating: 1, count: 1000)], timeout: .seconds(5))
        #expect(try await pull.receive(timeout: .seconds(5)).first?.count == 1000)
        try await push.send([[UInt8](repeating: 2, count: 4096)], timeout: .seconds(5))
        await #expect(throws: TransportError.timedOut(operation: "receive", timeout: .milliseconds(300))) {
            try await pull.receive(timeout: .milliseconds(300))
        }
        await push.close()
        await pull.close()
    }

    @Test("closing with pending operations fails them with .closed and does not hang")
    func closeWithPendingOperations() async throws {
        let server = try router()
        let lonely = try ZMQEndpoint(.dealer, context: context)
        let client = try ZMQRequester(context: context, connect: server.boundEndpoints, requestID: Self.requestID)
        let receive = Task { try await server.receive() }
        let send = Task { try await lonely.send([[1]]) }
        let request = Task { try await client.request([Self.idFrame(5)], timeout: .seconds(30)) }
        _ = try await server.receive(timeout: .seconds(5))
        await server.close()
        await lonely.close()
        await client.close()
        await #expect(throws: TransportError.closed) { try await receive.value }
        await #expect(throws: TransportError.closed) { try await send.value }
        await #expect(throws: TransportError.closed) { try await request.value }
        await #expect(throws: TransportError.closed) { try await server.send([[1]]) }
    }
}

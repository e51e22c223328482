import Foundation
import Testing

@testable import CacheProtocol

@Suite("CURVE security", .timeLimit(.minutes(1)))
struct ZMQCurveTests {
    @Test("a CURVE server serves a client with its key and ignores one with a wrong server key")
    func serverKeyChecked() async throws {
        #expect(ZMQContext.hasCurve)
        let context = try ZMQContext()
        let serverKeys = try ZMQCurveKeyPair.generate()
        let server = try ZMQEndpoint(
            .router,
            context: context,
            options: ZMQSocketOptions(curve: .server(serverKeys)),
            bind: ["tcp://127.0.0.1:*"]
        )
        // Generous timeouts: the suite runs beside the CPU-bound kernel tests, which can hold this
        // test's threads up for seconds at a time.
        let serving = Task {
            let request = try await server.receive(timeout: .seconds(45))
            let frames = ZMQTransportTests.bytes(request)
            try await server.send(frames, timeout: .seconds(5))
            return frames
        }
        let wrongServerKey = try ZMQCurveKeyPair.generate().publicKey
        let impostor = try ZMQRequester(
            context: context,
            connect: server.boundEndpoints,
            options: ZMQSocketOptions(curve: .client(try .generate(), serverKey: wrongServerKey)),
            requestID: ZMQTransportTests.requestID
        )
        await #expect(throws: TransportError.timedOut(operation: "request", timeout: .milliseconds(500))) {
            try await impostor.request([ZMQTransportTests.idFrame(1), [0xBA, 0xD0]], timeout: .milliseconds(500))
        }
        let client = try ZMQRequester(
            context: context,
            connect: server.boundEndpoints,
            options: ZMQSocketOptions(curve: .client(try .generate(), serverKey: serverKeys.publicKey)),
            requestID: ZMQTransportTests.requestID
        )
        let request = [ZMQTransportTests.idFrame(2), [0x60, 0x0D]]
        #expect(ZMQTransportTests.bytes(try await client.request(request, timeout: .seconds(40))) == request)
        let served = try await serving.value
        #expect(Array(served.dropFirst()) == request)
        await impostor.close()
        await client.close()
        await server.close()
    }

    @Test("key files round-trip, secret files are 0600 and refused when readable by others")
    func keyFiles() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mfa-keys-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let keys = try ZMQCurveKeyPair.generate()
        let pairPath = directory.appendingPathComponent("server.key").path
        let publicPath = directory.appendingPathComponent("server.pub").path
        try keys.write(to: pairPath)
        try keys.writePublicKey(to: publicPath)
        let mode = try FileManager.default.attributesOfItem(atPath: pairPath)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try ZMQCurveKeyPair.read(from: pairPath) == keys)
        #expect(try ZMQCurveKeyPair.readPublicKey(from: publicPath) == keys.publicKey)
        #expect(throws: TransportError.self) { try ZMQCurveKeyPair.read(from: publicPath) }

        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: pairPath)
        #expect(throws: TransportError.self) { try ZMQCurveKeyPair.read(from: pairPath) }

        let badPath = directory.appendingPathComponent("bad.pub").path
        try "public: nope\n".write(toFile: badPath, atomically: true, encoding: .utf8)
        #expect(throws: TransportError.self) { try ZMQCurveKeyPair.readPublicKey(from: badPath) }
        try "# comment\npublic = tooShort\n".write(toFile: badPath, atomically: true, encoding: .utf8)
        #expect(throws: TransportError.invalidCurveKey("expected 40 Z85 characters, got 8")) {
            try ZMQCurveKeyPair.readPublicKey(from: badPath)
        }
        #expect(throws: TransportError.self) {
            try ZMQCurveKeyPair.readPublicKey(from: directory.appendingPathComponent("missing").path)
        }
    }
}

import Kernels
import Testing

@testable import CacheProtocol

@Suite("Message round trips")
struct MessageRoundTripTests {
    @Test func samplesCoverEveryMessageType() throws {
        var rng = SplitMix64(seed: 1)
        let types = Set(try MessageSamples.all(size: 1, rng: &rng).map(\.type))
        #expect(types == Set(MessageType.allCases))
    }

    @Test(arguments: [0, 1, 2, 5, 33])
    func everyMessageRoundTrips(size: Int) throws {
        var rng = SplitMix64(seed: UInt64(size) &* 7919 &+ 3)
        for message in try MessageSamples.all(size: size, rng: &rng) {
            let envelope = Envelope(requestID: rng.next(), message: message)
            let frames = try envelope.encode()
            #expect(try Envelope(frames: frames) == envelope, "\(message.type)")
            let header = try MessageHeader(frame0: frames[0])
            #expect(header.type == message.type)
            #expect(header.bulkFrameCount == frames.count - 1)
            #expect(header.bodyLength == frames[0].count - MessageHeader.byteCount)
        }
    }

    @Test func bulkDataTravelsOutsideFrameZero() throws {
        let q = try WireTensor(f32: (0..<24).map(Float.init), shape: [2, 3, 4])
        let kv = try WireTensor(f32: (0..<8).map { Float($0) / 2 }, shape: [2, 1, 4])
        let prefill = try Prefill(
            sequenceID: 9,
            layer: 1,
            startPosition: 32,
            input: try AttentionInput(q: q, k: kv, v: kv)
        )
        let frames = try Envelope(requestID: 5, message: .prefill(prefill)).encode()
        #expect(frames.count == 4)
        #expect(frames[1] == q.bytes)
        #expect(frames[2] == kv.bytes)
        #expect(frames[0].count < q.bytes.count)
        guard case .prefill(let decoded) = try Envelope(frames: frames).message else {
            Issue.record("not a prefill")
            return
        }
        #expect(try decoded.input.q.f32Values() == (0..<24).map(Float.init))
        #expect(decoded.tokenCount == 2)
    }

    @Test func unknownErrorCodesKeepTheirNumber() throws {
        for code in ErrorCode.known { #expect(ErrorCode(rawValue: code.rawValue) == code) }
        #expect(ErrorCode(rawValue: 4242) == .unrecognised(4242))
        #expect(ErrorCode(rawValue: 4242).rawValue == 4242)
        #expect(Set(ErrorCode.known.map(\.description)).count == ErrorCode.known.count)
    }
}

import Testing

@testable import CacheProtocol

/// Encoded messages as PROTOCOL.md lists them, checked in both directions.
@Suite("Wire vectors")
struct WireVectorTests {
    static let vectors: [(Envelope, [String])] = [
        (
            Envelope(requestID: 42, message: .truncate(Truncate(sequenceID: 0x0102_0304_0506_0708, length: 100))),
            ["4d46414301011600000000002a000000000000000c000000080706050403020164000000"]
        ),
        (
            Envelope(
                requestID: 7,
                message: .openSequence(OpenSequence(sequenceID: 0, namespace: "t", shardStart: 0, tokens: [1, 2, 3]))
            ),
            [
                "4d4641430101100000000000070000000000000021000000000000000000000001000000740000000003000000010000000200000003000000"
            ]
        ),
        (
            Envelope(
                requestID: 9,
                message: .errorReply(ErrorReply(code: .unknownSequence, message: "no such sequence"))
            ),
            ["4d46414301010500000000000900000000000000160000000200100000006e6f20737563682073657175656e6365"]
        ),
        (
            Envelope(
                requestID: 1,
                message: .pagePut(
                    PagePut(pages: [
                        EncodedPage(
                            key: PrefixKey(bytes: [UInt8](repeating: 0x11, count: 32)) ?? PrefixKey(digest: .zero),
                            bytes: [0xAA, 0xBB, 0xCC]
                        )
                    ])
                )
            ),
            [
                "4d4641430101200000000100010000000000000024000000010000001111111111111111111111111111111111111111111111111111111111111111",
                "aabbcc",
            ]
        ),
    ]

    @Test func encodingMatchesTheVectors() throws {
        for (envelope, frames) in Self.vectors {
            #expect(try envelope.encode().map(hexString) == frames)
        }
    }

    @Test func decodingTheVectorsGivesTheMessages() throws {
        for (envelope, frames) in Self.vectors {
            #expect(try Envelope(frames: frames.map(hexBytes)) == envelope)
        }
    }
}

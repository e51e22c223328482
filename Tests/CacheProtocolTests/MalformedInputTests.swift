import Kernels
import Testing

@testable import CacheProtocol

/// Every class of bad input gets its own typed error, before anything is misread.
@Suite("Malformed input")
struct MalformedInputTests {
    /// A frame 0 with a header built field by field.
    static func frame0(
        magic: UInt32 = MessageHeader.magic,
        major: UInt8 = 1,
        minor: UInt8 = 0,
        type: UInt16,
        bulk: UInt16 = 0,
        requestID: UInt64 = 1,
        bodyLength: UInt32? = nil,
        body: [UInt8]
    ) -> [UInt8] {
        var writer = WireWriter()
        writer.write(magic)
        writer.write(major)
        writer.write(minor)
        writer.write(type)
        writer.write(UInt16(0))
        writer.write(bulk)
        writer.write(requestID)
        writer.write(bodyLength ?? UInt32(body.count))
        writer.writeRaw(body)
        return writer.bytes
    }

    static func body(_ fill: (inout WireWriter) -> Void) -> [UInt8] {
        var writer = WireWriter()
        fill(&writer)
        return writer.bytes
    }

    static let truncateBody = body {
        $0.write(UInt64(5))
        $0.write(UInt32(3))
    }
    static let truncateType = MessageType.truncate.rawValue

    @Test func noFrames() {
        #expect(throws: WireError.noFrames) { try Envelope(frames: [[UInt8]]()) }
    }

    @Test func truncatedHeader() {
        let frame = Array(Self.frame0(type: Self.truncateType, body: Self.truncateBody).prefix(10))
        #expect(throws: WireError.truncatedHeader(length: 10)) { try Envelope(frames: [frame]) }
        #expect(throws: WireError.truncatedHeader(length: 0)) { try Envelope(frames: [[]]) }
    }

    @Test func wrongMagic() {
        let frame = Self.frame0(magic: 0x4554_4547, type: Self.truncateType, body: Self.truncateBody)
        #expect(throws: WireError.badMagic(0x4554_4547)) { try Envelope(frames: [frame]) }
    }

    @Test func otherMajorVersionIsAVersionErrorWhateverFollows() {
        let newer = Self.frame0(major: 2, minor: 3, type: 999, bodyLength: 1 << 31, body: [1, 2, 3])
        #expect(throws: WireError.unsupportedVersion(major: 2, minor: 3)) { try Envelope(frames: [newer]) }
        let older = Self.frame0(major: 0, type: Self.truncateType, body: Self.truncateBody)
        #expect(throws: WireError.unsupportedVersion(major: 0, minor: 0)) { try Envelope(frames: [older]) }
        #expect(WireError.unsupportedVersion(major: 2, minor: 3).description.contains("2.3"))
    }

    @Test func newerMinorVersionAndUnknownFlagsAreRead() throws {
        var frame = Self.frame0(minor: 7, type: Self.truncateType, body: Self.truncateBody)
        frame[8] = 0xFF  // flags: reserved, ignored on receipt
        #expect(try Envelope(frames: [frame]).message == .truncate(Truncate(sequenceID: 5, length: 3)))
    }

    @Test func unknownType() {
        let frame = Self.frame0(type: 0x7777, body: [])
        #expect(throws: WireError.unknownMessageType(0x7777)) { try Envelope(frames: [frame]) }
    }

    @Test func bodyLengthLargerThanTheFrame() {
        let frame = Self.frame0(type: Self.truncateType, bodyLength: 13, body: Self.truncateBody)
        #expect(throws: WireError.truncated(field: "body", needed: 13, available: 12)) { try Envelope(frames: [frame]) }
    }

    @Test func bodyLengthOverTheLimit() {
        let frame = Self.frame0(type: Self.truncateType, bodyLength: .max, body: Self.truncateBody)
        #expect(
            throws: WireError.limitExceeded(
                field: "body length",
                value: UInt64(UInt32.max),
                limit: UInt64(WireLimits.maxBodyBytes)
            )
        ) {
            try Envelope(frames: [frame])
        }
    }

    @Test func bytesAfterTheDeclaredBody() {
        let frame = Self.frame0(type: Self.truncateType, bodyLength: 12, body: Self.truncateBody + [0, 0])
        #expect(throws: WireError.trailingBytes(2)) { try Envelope(frames: [frame]) }
    }

    @Test func bodyLongerThanItsFields() {
        let frame = Self.frame0(type: Self.truncateType, body: Self.truncateBody + [9])
        #expect(throws: WireError.trailingBytes(1)) { try Envelope(frames: [frame]) }
    }

    @Test func bodyShorterThanItsFields() {
        let frame = Self.frame0(type: Self.truncateType, body: Array(Self.truncateBody.prefix(10)))
        #expect(throws: WireError.truncated(field: "length", needed: 4, available: 2)) { try Envelope(frames: [frame]) }
    }

    @Test func frameCountDisagreesWithTheHeader() {
        let frame = Self.frame0(type: Self.truncateType, bulk: 1, body: Self.truncateBody)
        #expect(throws: WireError.frameCountMismatch(expected: 2, actual: 1)) { try Envelope(frames: [frame]) }
        let plain = Self.frame0(type: Self.truncateType, body: Self.truncateBody)
        #expect(throws: WireError.frameCountMismatch(expected: 1, actual: 2)) { try Envelope(frames: [plain, [1]]) }
    }

    @Test func frameCountDisagreesWithTheBody() {
        let twoKeys = Self.body { $0.write([PrefixKey(digest: .zero), PrefixKey(digest: .zero)]) }
        let short = Self.frame0(type: MessageType.pagePut.rawValue, bulk: 1, body: twoKeys)
        #expect(throws: WireError.frameCountMismatch(expected: 3, actual: 2)) { try Envelope(frames: [short, [1]]) }
        let oneKey = Self.body { $0.write([PrefixKey(digest: .zero)]) }
        let long = Self.frame0(type: MessageType.pagePut.rawValue, bulk: 2, body: oneKey)
        #expect(throws: WireError.frameCountMismatch(expected: 2, actual: 3)) {
            try Envelope(frames: [long, [1], [2]])
        }
    }

    @Test func oversizeTokenCount() {
        let body = Self.body {
            $0.write(UInt64(0))
            $0.write("t")
            $0.write(UInt32(0))
            $0.write(UInt32(100_000_000))
        }
        let frame = Self.frame0(type: MessageType.openSequence.rawValue, body: body)
        #expect(
            throws: WireError.limitExceeded(
                field: "tokens",
                value: 100_000_000,
                limit: UInt64(WireLimits.maxTokensPerRequest)
            )
        ) {
            try Envelope(frames: [frame])
        }
    }

    /// The fields of a `ShardExportReply` before its layer lengths.
    static func shardExportHead(_ writer: inout WireWriter, totalPages: UInt32, firstPage: UInt32) {
        writer.write(UInt64(7))
        writer.write("t")
        writer.write(UInt32(0))
        writer.write(UInt32(0))
        writer.write(totalPages)
        writer.write(firstPage)
    }

    @Test func shardExportReplyLimits() {
        let layers = Self.body {
            Self.shardExportHead(&$0, totalPages: 1, firstPage: 0)
            $0.write(UInt32(WireLimits.maxLayers + 1))
        }
        #expect(
            throws: WireError.limitExceeded(
                field: "layer lengths",
                value: UInt64(WireLimits.maxLayers + 1),
                limit: UInt64(WireLimits.maxLayers)
            )
        ) {
            try Envelope(frames: [Self.frame0(type: MessageType.shardExportReply.rawValue, body: layers)])
        }
        let pages = Self.body {
            Self.shardExportHead(&$0, totalPages: 5000, firstPage: 0)
            $0.write([UInt32]())
            $0.write([PrefixKey]())
            $0.write(UInt32(WireLimits.maxPagesPerRequest + 1))
        }
        #expect(
            throws: WireError.limitExceeded(
                field: "pages",
                value: UInt64(WireLimits.maxPagesPerRequest + 1),
                limit: UInt64(WireLimits.maxPagesPerRequest)
            )
        ) {
            try Envelope(frames: [Self.frame0(type: MessageType.shardExportReply.rawValue, body: pages)])
        }
        let pastTheEnd = Self.body {
            Self.shardExportHead(&$0, totalPages: 2, firstPage: 1)
            $0.write([UInt32(3)])
            $0.write([PrefixKey]())
            $0.write(UInt32(2))
        }
        #expect(throws: WireError.inconsistent("pages 1..<3 run past the 2 pages")) {
            try Envelope(
                frames: [Self.frame0(type: MessageType.shardExportReply.rawValue, bulk: 2, body: pastTheEnd), [1], [2]]
            )
        }
    }

    @Test func shardListOverTheLimitOrInconsistent() throws {
        let tooMany = Self.body {
            $0.write(UInt64(1))
            $0.write(UInt32(WireLimits.maxShardsPerList + 1))
        }
        #expect(
            throws: WireError.limitExceeded(
                field: "shards",
                value: UInt64(WireLimits.maxShardsPerList + 1),
                limit: UInt64(WireLimits.maxShardsPerList)
            )
        ) {
            try Envelope(frames: [Self.frame0(type: MessageType.shardListReply.rawValue, body: tooMany)])
        }
        func oneShard(start: UInt32, layerZero: UInt32, everyLayer: UInt32) -> [UInt8] {
            Self.body {
                $0.write(UInt64(1))
                $0.write(UInt32(1))
                $0.write(UInt64(9))
                $0.write("t")
                $0.write(start)
                $0.write(layerZero)
                $0.write(everyLayer)
                $0.write(UInt32(4))
                $0.write(true)
            }
        }
        let longerEveryLayer = oneShard(start: 0, layerZero: 4, everyLayer: 5)
        #expect(throws: WireError.inconsistent("sequence 9: 5 tokens in every layer but 4 in layer 0")) {
            try Envelope(frames: [Self.frame0(type: MessageType.shardListReply.rawValue, body: longerEveryLayer)])
        }
        let pastTheEnd = oneShard(start: UInt32.max - 3, layerZero: 4, everyLayer: 4)
        #expect(throws: WireError.inconsistent("sequence 9: the shard ends past token position 2³²")) {
            try Envelope(frames: [Self.frame0(type: MessageType.shardListReply.rawValue, body: pastTheEnd)])
        }
        let valid = oneShard(start: 8, layerZero: 4, everyLayer: 3)
        #expect(
            try Envelope(frames: [Self.frame0(type: MessageType.shardListReply.rawValue, body: valid)]).message
                == .shardListReply(
                    ShardListReply(
                        workerID: 1,
                        shards: [
                            ShardListReply.Shard(
                                sequenceID: 9,
                                namespace: "t",
                                shardStart: 8,
                                layerZeroTokens: 4,
                                everyLayerTokens: 3,
                                promptTokens: 4,
                                sealed: true
                            )
                        ]
                    )
                )
        )
    }

    @Test func countWithinTheLimitButBeyondTheBytes() {
        let body = Self.body {
            $0.write(UInt64(0))
            $0.write("t")
            $0.write(UInt32(0))
            $0.write(UInt32(1000))
            $0.write(UInt32(1))
        }
        let frame = Self.frame0(type: MessageType.openSequence.rawValue, body: body)
        #expect(throws: WireError.truncated(field: "tokens", needed: 4000, available: 4)) {
            try Envelope(frames: [frame])
        }
    }

    @Test func tensorSizeThatOverflows() {
        let body = Self.body {
            $0.write(UInt32(0))  // layer
            $0.write(UInt32(0))  // no entries
            $0.write(TensorElementType.f32.rawValue)
            $0.write(UInt8(3))
            for _ in 0..<3 { $0.write(UInt32.max) }
            $0.write(false)
        }
        let frame = Self.frame0(type: MessageType.decode.rawValue, bulk: 1, body: body)
        #expect(throws: WireError.countOverflow(field: "tensor size")) { try Envelope(frames: [frame, []]) }
    }

    @Test func tensorFrameOfTheWrongSize() throws {
        let body = Self.body {
            $0.write(UInt32(0))
            $0.write(UInt32(0))
            $0.write(TensorElementType.f16.rawValue)
            $0.write(UInt8(3))
            for dimension: UInt32 in [0, 2, 8] { $0.write(dimension) }
            $0.write(false)
        }
        let frame = Self.frame0(type: MessageType.decode.rawValue, bulk: 1, body: body)
        #expect(throws: WireError.inconsistent("tensor of shape [0, 2, 8] as f16 needs 0 bytes, its frame has 3")) {
            try Envelope(frames: [frame, [1, 2, 3]])
        }
        #expect(try Envelope(frames: [frame, []]).message.type == .decode)
    }

    @Test func tensorRankOverTheLimit() {
        let body = Self.body {
            $0.write(UInt64(1))
            $0.write(UInt32(0))
            $0.write(TensorElementType.f32.rawValue)
            $0.write(UInt8(9))
        }
        let frame = Self.frame0(type: MessageType.prefillReply.rawValue, bulk: 2, body: body)
        #expect(
            throws: WireError.limitExceeded(field: "tensor rank", value: 9, limit: UInt64(WireLimits.maxTensorRank))
        ) {
            try Envelope(frames: [frame, [], []])
        }
    }

    @Test func shapesThatDisagree() throws {
        let q = try WireTensor(f32: [Float](repeating: 0, count: 8), shape: [2, 2, 2])
        let k = try WireTensor(f32: [Float](repeating: 0, count: 6), shape: [3, 1, 2])
        #expect(throws: WireError.self) { try AttentionInput(q: q, k: k, v: k) }
        #expect(throws: WireError.inconsistent("k and v must be both present or both absent")) {
            try AttentionInput(q: q, k: k, v: nil)
        }
        let input = try AttentionInput(q: q, k: nil, v: nil)
        #expect(throws: WireError.inconsistent("prefill needs k and v")) {
            try Prefill(sequenceID: 1, layer: 0, startPosition: 0, input: input)
        }
        #expect(throws: WireError.inconsistent("entries have 3 query tokens, q has 2 rows")) {
            try Decode(layer: 0, entries: [.init(sequenceID: 1, queryTokens: 3)], input: input)
        }
        #expect(throws: WireError.inconsistent("attention output and lse must be f32")) {
            try AttentionOutput(
                output: q,
                lse: try WireTensor(elementType: .bf16, shape: [2, 2], bytes: [UInt8](repeating: 0, count: 8))
            )
        }
    }

    @Test func invalidEnumeratedValuesAndText() {
        let badBool = Self.body {
            $0.write(UInt64(1))
            $0.write(UInt8(2))
        }
        #expect(throws: WireError.invalidValue(field: "commit", value: 2)) {
            try Envelope(frames: [Self.frame0(type: MessageType.closeSequence.rawValue, body: badBool)])
        }
        let badUTF8 = Self.body {
            $0.write(UInt64(0))
            $0.writeCount(2)
            $0.writeRaw([0xC3, 0x28])
            $0.write(UInt32(0))
            $0.write([UInt32]())
        }
        #expect(throws: WireError.invalidText(field: "namespace")) {
            try Envelope(frames: [Self.frame0(type: MessageType.openSequence.rawValue, body: badUTF8)])
        }
        let badOutcome = Self.body { $0.write(UInt8(7)) }
        #expect(throws: WireError.invalidValue(field: "outcome", value: 7)) {
            try Envelope(frames: [Self.frame0(type: MessageType.registerWorkerReply.rawValue, body: badOutcome)])
        }
        let shardPastTokens = Self.body {
            $0.write(UInt64(0))
            $0.write("t")
            $0.write(UInt32(5))
            $0.write([UInt32(1)])
        }
        #expect(throws: WireError.inconsistent("shard start 5 is past the 1 tokens")) {
            try Envelope(frames: [Self.frame0(type: MessageType.openSequence.rawValue, body: shardPastTokens)])
        }
    }

    @Test func encodingRefusesMessagesOverTheLimits() throws {
        let key = PrefixKey(digest: .zero)
        let tooMany = PagePut(
            pages: [EncodedPage](repeating: EncodedPage(key: key, bytes: []), count: WireLimits.maxBulkFrames + 1)
        )
        #expect(
            throws: WireError.limitExceeded(
                field: "bulk frame count",
                value: UInt64(WireLimits.maxBulkFrames + 1),
                limit: UInt64(WireLimits.maxBulkFrames)
            )
        ) {
            try Envelope(requestID: 1, message: .pagePut(tooMany)).encode()
        }
    }

    @Test func refusalsCanBeAnsweredWithTheRightCode() {
        let newer = Self.frame0(major: 2, type: 999, requestID: 77, body: [])
        #expect(MessageHeader.requestID(ofRefused: newer) == 77)
        #expect(MessageHeader.requestID(ofRefused: Array(newer.prefix(23))) == nil)
        #expect(MessageHeader.requestID(ofRefused: Self.frame0(magic: 1, type: 1, body: [])) == nil)
        #expect(WireError.unsupportedVersion(major: 2, minor: 0).replyCode == .version)
        #expect(WireError.trailingBytes(1).replyCode == .badRequest)
    }

    @Test func everyCutOrExtendedMessageIsRefused() throws {
        var rng = SplitMix64(seed: 99)
        for message in try MessageSamples.all(size: 2, rng: &rng) {
            let frames = try Envelope(requestID: 3, message: message).encode()
            for cut in 0..<frames[0].count {
                #expect(throws: WireError.self) {
                    try Envelope(frames: [Array(frames[0].prefix(cut))] + frames.dropFirst())
                }
            }
            #expect(throws: WireError.self) { try Envelope(frames: [frames[0] + [0]] + frames.dropFirst()) }
            #expect(throws: WireError.self) { try Envelope(frames: frames + [[]]) }
            if frames.count > 1 {
                #expect(throws: WireError.self) { try Envelope(frames: Array(frames.dropLast())) }
            }
        }
    }

    @Test func everyErrorHasADescription() {
        let errors: [WireError] = [
            .noFrames, .truncatedHeader(length: 3), .badMagic(1), .unsupportedVersion(major: 2, minor: 0),
            .unknownMessageType(9), .frameCountMismatch(expected: 1, actual: 2),
            .truncated(field: "f", needed: 1, available: 0),
            .trailingBytes(1), .limitExceeded(field: "f", value: 2, limit: 1), .countOverflow(field: "f"),
            .invalidText(field: "f"), .invalidValue(field: "f", value: 1), .inconsistent("x"),
            .invalidModelSpec(.missingKey("kv")),
        ]
        #expect(Set(errors.map(\.description)).count == errors.count)
    }
}

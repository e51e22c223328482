import Testing

@testable import CacheProtocol

/// Vectors computed independently with Python's hashlib from the byte layouts in PROTOCOL.md.
@Suite("PrefixKey")
struct PrefixKeyTests {
    static let llama = "name=llama3-8b,layers=32,q-heads=32,kv-heads=8,head-dim=128,kv=f16,page=16"
    static let tiny = "name=tiny,layers=2,q-heads=4,kv-heads=2,head-dim=8,kv=bf16,page=4"

    @Test func fingerprintMatchesTheVector() throws {
        let spec = try ModelSpec(parsing: Self.llama)
        var writer = WireWriter()
        spec.encode(into: &writer)
        #expect(writer.bytes == (try hexBytes("090000006c6c616d61332d3862200000002000000008000000800000000110000000")))
        #expect(spec.fingerprint.hex == "2304deb20f25fe2e55975650f19d40b9cf052c354f1e7c52b5a593a7ce6073de")
        #expect(
            try ModelSpec(parsing: Self.tiny).fingerprint.hex
                == "731593916dc2075d13f32c465ec5ee4f04269c15c727ced50c4b024a3efacd20"
        )
    }

    @Test func chainMatchesTheVectors() throws {
        let fingerprint = try ModelSpec(parsing: Self.llama).fingerprint
        let tokens = (1...40).map(UInt32.init)
        let keysA = PrefixKey.chain(namespace: "tenant-a", fingerprint: fingerprint, tokens: tokens, pageSize: 16)
        #expect(
            keysA.map(\.hex) == [
                "d5aaed6861567d0fdb9cd2aed5744d70a2a03bbd4e0008f7fbfd7a80e084dcab",
                "98081a301ca652899dedbf4eb7917f1e72348cf0c2d62c862a30c7fd3b54deec",
            ]
        )
        let keysB = PrefixKey.chain(namespace: "tenant-b", fingerprint: fingerprint, tokens: tokens, pageSize: 16)
        #expect(
            keysB.map(\.hex) == [
                "ae5e748780913920b39a9e6088b74d91ae4dad27fb45a9448156ed599f1fad64",
                "1d7e30fe6541092b47bfa05e1ec9a18b95826f535dd1e4465ff638c582692f67",
            ]
        )
        let tiny = try ModelSpec(parsing: Self.tiny)
        let keysTiny = PrefixKey.chain(
            namespace: "",
            fingerprint: tiny.fingerprint,
            tokens: [7, 7, 7, 7, 100_000, .max, 0, 1, 5],
            pageSize: tiny.pageSize
        )
        #expect(
            keysTiny.map(\.hex) == [
                "1d0a2545ca7f9315001c1ab403507a7da14c633d030715b56805ff13c4c43e11",
                "d6ff3d0bc990650cedfccdad48302c4078b81eaf357f765a30ea85425e858c00",
            ]
        )
    }

    @Test func onlyFullPagesGetKeysAndPrefixesShareKeys() throws {
        let fingerprint = try ModelSpec(parsing: Self.tiny).fingerprint
        let tokens: [UInt32] = Array(0..<23)
        let keys = PrefixKey.chain(namespace: "t", fingerprint: fingerprint, tokens: tokens, pageSize: 4)
        #expect(keys.count == 5)
        let shorter = PrefixKey.chain(
            namespace: "t",
            fingerprint: fingerprint,
            tokens: Array(tokens.prefix(13)),
            pageSize: 4
        )
        #expect(shorter == Array(keys.prefix(3)))
        var changed = tokens
        changed[9] = 1000
        let diverged = PrefixKey.chain(namespace: "t", fingerprint: fingerprint, tokens: changed, pageSize: 4)
        #expect(diverged.prefix(2) == keys.prefix(2))
        #expect(zip(diverged.dropFirst(2), keys.dropFirst(2)).allSatisfy { $0 != $1 })
        #expect(PrefixKey.chain(namespace: "t", fingerprint: fingerprint, tokens: [1, 2, 3], pageSize: 4).isEmpty)
        #expect(PrefixKey.chain(namespace: "t", fingerprint: fingerprint, tokens: tokens, pageSize: 0).isEmpty)
    }

    @Test func hexFormRoundTripsAndRefusesBadText() throws {
        let key = PrefixKey(digest: Digest32(sha256: [1, 2, 3]))
        #expect(try PrefixKey(hex: key.hex) == key)
        #expect(try PrefixKey(hex: key.hex.uppercased()) == key)
        #expect(PrefixKey(bytes: key.bytes) == key)
        #expect(PrefixKey(bytes: key.bytes.dropLast()) == nil)
        #expect(throws: HexError.wrongLength(63)) { try PrefixKey(hex: String(key.hex.dropLast())) }
        #expect(throws: HexError.invalidDigit(offset: 5)) {
            try PrefixKey(hex: String(key.hex.prefix(5)) + "g" + String(key.hex.dropFirst(6)))
        }
        #expect(HexError.invalidDigit(offset: 5).description.contains("offset 5"))
    }
}

/// The bytes of a hexadecimal string.
func hexBytes(_ hex: String) throws -> [UInt8] {
    let digits = Array(hex.utf8)
    try #require(digits.count % 2 == 0)
    return try stride(from: 0, to: digits.count, by: 2).map { index in
        try #require(UInt8(String(decoding: digits[index..<index + 2], as: UTF8.self), radix: 16))
    }
}

/// Lower-case hexadecimal of `bytes`.
func hexString(_ bytes: [UInt8]) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}

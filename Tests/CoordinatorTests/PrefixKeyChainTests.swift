import CacheProtocol
import Testing

/// The page-at-a-time prefix key chain the coordinator's placement uses, against the protocol's
/// test vectors and `PrefixKey.chain`.
@Suite("PrefixKeyChain")
struct PrefixKeyChainTests {
    @Test("page by page, the chain gives the protocol's test vectors")
    func vectors() throws {
        let spec = try ModelSpec(parsing: "name=llama3-8b,layers=32,q-heads=32,kv-heads=8,head-dim=128,kv=f16,page=16")
        let tokens = (1...40).map(UInt32.init)
        var chain = PrefixKeyChain(namespace: "tenant-a", fingerprint: spec.fingerprint, pageSize: 16)
        #expect(chain.next(tokens[0..<16])?.hex == "d5aaed6861567d0fdb9cd2aed5744d70a2a03bbd4e0008f7fbfd7a80e084dcab")
        #expect(chain.next(tokens[16..<32])?.hex == "98081a301ca652899dedbf4eb7917f1e72348cf0c2d62c862a30c7fd3b54deec")
        #expect(chain.next(tokens[32..<40]) == nil)
        #expect(chain.count == 2)
        let tiny = try ModelSpec(parsing: "name=tiny,layers=2,q-heads=4,kv-heads=2,head-dim=8,kv=bf16,page=4")
        var empty = PrefixKeyChain(namespace: "", fingerprint: tiny.fingerprint, pageSize: 4)
        let page: [UInt32] = [7, 7, 7, 7, 100_000, .max, 0, 1]
        #expect(empty.next(page[0..<4])?.hex == "1d0a2545ca7f9315001c1ab403507a7da14c633d030715b56805ff13c4c43e11")
        #expect(empty.next(page[4..<8])?.hex == "d6ff3d0bc990650cedfccdad48302c4078b81eaf357f765a30ea85425e858c00")
    }

    @Test("a long chain equals PrefixKey.chain key for key")
    func longChain() throws {
        let spec = try ModelSpec(parsing: "name=tiny,layers=2,q-heads=4,kv-heads=2,head-dim=8,kv=bf16,page=4")
        let tokens = (0..<4099).map { UInt32(truncatingIfNeeded: $0 &* 2_654_435_761) }
        var chain = PrefixKeyChain(namespace: "some tenant", fingerprint: spec.fingerprint, pageSize: 4)
        let streamed = (0..<(tokens.count / 4)).compactMap { chain.next(tokens[($0 * 4)..<($0 * 4 + 4)]) }
        #expect(
            streamed
                == PrefixKey.chain(namespace: "some tenant", fingerprint: spec.fingerprint, tokens: tokens, pageSize: 4)
        )
        #expect(streamed.count == 1024)
    }

    @Test("resumed after known keys, the chain continues exactly as if it had computed them")
    func resume() throws {
        let spec = try ModelSpec(parsing: "name=tiny,layers=2,q-heads=4,kv-heads=2,head-dim=8,kv=bf16,page=4")
        let tokens = (0..<40).map { UInt32(truncatingIfNeeded: $0 &* 2_654_435_761) }
        let expected = PrefixKey.chain(namespace: "n", fingerprint: spec.fingerprint, tokens: tokens, pageSize: 4)
        for known in [0, 1, 5, 9] {
            var chain = PrefixKeyChain(namespace: "n", fingerprint: spec.fingerprint, pageSize: 4)
            chain.resume(after: known == 0 ? PrefixKey(digest: .zero) : expected[known - 1], pages: known)
            #expect(chain.count == known)
            let rest = (known..<10).compactMap { chain.next(tokens[($0 * 4)..<($0 * 4 + 4)]) }
            #expect(rest == Array(expected[known...]))
        }
    }
}

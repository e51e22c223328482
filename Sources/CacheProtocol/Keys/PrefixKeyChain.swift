import Crypto

/// The prefix keys of a prompt computed one page at a time, as `PrefixKey` defines them (chained
/// SHA-256 over the domain tag, namespace, model fingerprint, parent key, token count and tokens),
/// reusing one message buffer: no allocation per page beyond the hash's own. For callers that
/// need only the leading keys (a coordinator placing a prompt stops at the first page no worker
/// holds); `PrefixKey.chain` is this, run over every full page.
public struct PrefixKeyChain: Sendable {
    /// Tokens per page.
    public let pageSize: Int
    /// Keys produced so far.
    public private(set) var count = 0
    /// The message of the next key: tag, namespace, fingerprint (fixed), then the parent key, the
    /// token count and the tokens (rewritten for each page).
    private var message: [UInt8]
    private let parentOffset: Int

    /// A chain for pages of `pageSize` tokens in `namespace` under model `fingerprint`, before its
    /// first page (parent: 32 zero bytes).
    public init(namespace: String, fingerprint: ModelFingerprint, pageSize: Int) {
        self.pageSize = max(0, pageSize)
        var writer = WireWriter(capacity: 16 + 4 + namespace.utf8.count + 32 + 32 + 4 + 4 * self.pageSize)
        writer.writeRaw(PrefixKey.domainTag)
        writer.write(namespace)
        writer.write(fingerprint)
        parentOffset = writer.bytes.count
        writer.write(PrefixKey(digest: .zero))
        writer.write(UInt32(truncatingIfNeeded: self.pageSize))
        writer.writeRaw([UInt8](repeating: 0, count: 4 * self.pageSize))
        message = writer.bytes
    }

    /// Continues the chain after `pages` pages whose last key is `parent` (32 zero bytes for no
    /// page), as if those pages had been given to `next`: for a caller that knows some leading keys
    /// already (a cache of keys) and computes only the rest. The keys that follow are exact only if
    /// `parent` is the true key of page `pages - 1` of the same namespace and model.
    public mutating func resume(after parent: PrefixKey, pages: Int) {
        let parentOffset = parentOffset
        let words = parent.digest.words
        message.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: words.0.littleEndian, toByteOffset: parentOffset, as: UInt64.self)
            raw.storeBytes(of: words.1.littleEndian, toByteOffset: parentOffset + 8, as: UInt64.self)
            raw.storeBytes(of: words.2.littleEndian, toByteOffset: parentOffset + 16, as: UInt64.self)
            raw.storeBytes(of: words.3.littleEndian, toByteOffset: parentOffset + 24, as: UInt64.self)
        }
        count = max(0, pages)
    }

    /// The key of the next page, whose tokens are `tokens`; `nil` (and nothing changes) unless
    /// there are exactly `pageSize` of them and `pageSize` is at least 1.
    public mutating func next(_ tokens: ArraySlice<UInt32>) -> PrefixKey? {
        guard pageSize >= 1, tokens.count == pageSize else { return nil }
        let tokenOffset = parentOffset + Digest32.byteCount + 4
        let parentOffset = parentOffset
        let key: PrefixKey = message.withUnsafeMutableBytes { raw in
            var offset = tokenOffset
            for token in tokens {
                raw.storeBytes(of: token.littleEndian, toByteOffset: offset, as: UInt32.self)
                offset += 4
            }
            var hasher = SHA256()
            hasher.update(bufferPointer: UnsafeRawBufferPointer(raw))
            return hasher.finalize().withUnsafeBytes { digest in
                UnsafeMutableRawBufferPointer(rebasing: raw[parentOffset..<(parentOffset + Digest32.byteCount)])
                    .copyMemory(from: digest)
                return PrefixKey(
                    digest: Digest32(
                        w0: UInt64(littleEndian: digest.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                        w1: UInt64(littleEndian: digest.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
                        w2: UInt64(littleEndian: digest.loadUnaligned(fromByteOffset: 16, as: UInt64.self)),
                        w3: UInt64(littleEndian: digest.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
                    )
                )
            }
        }
        count += 1
        return key
    }
}

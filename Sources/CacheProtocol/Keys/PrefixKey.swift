/// The identity of one full page of tokens in a prefix cache: chained SHA-256, so a key names the
/// page *and* everything before it, and equal prefixes give equal keys on every process and machine.
///
/// Key of page `i` = SHA-256 of, in order:
/// - the 16 ASCII bytes `mfa.prefixkey.v1`;
/// - the namespace's UTF-8 byte length (u32 LE) and bytes;
/// - the model fingerprint (32 bytes);
/// - the parent key: the key of page `i - 1`, or 32 zero bytes for page 0;
/// - the page's token count (u32 LE) and its token ids (u32 LE each).
///
/// The namespace isolates tenants: no key of one namespace equals a key of another.
public struct PrefixKey: DigestValue {
    /// The 32 key bytes.
    public let digest: Digest32

    /// Wraps 32 bytes.
    public init(digest: Digest32) {
        self.digest = digest
    }

    /// The domain-separation tag hashed first.
    static let domainTag = Array("mfa.prefixkey.v1".utf8)

    /// The keys of every full page of `tokens`, in order: `tokens.count / pageSize` keys. The
    /// partial page at the end, if any, gets no key; `pageSize < 1` gives no keys.
    public static func chain(
        namespace: String,
        fingerprint: ModelFingerprint,
        tokens: [UInt32],
        pageSize: Int
    ) -> [PrefixKey] {
        guard pageSize >= 1 else { return [] }
        let pageCount = tokens.count / pageSize
        var keys = [PrefixKey]()
        keys.reserveCapacity(pageCount)
        var chain = PrefixKeyChain(namespace: namespace, fingerprint: fingerprint, pageSize: pageSize)
        for page in 0..<pageCount {
            guard let key = chain.next(tokens[(page * pageSize)..<((page + 1) * pageSize)]) else { break }
            keys.append(key)
        }
        return keys
    }
}

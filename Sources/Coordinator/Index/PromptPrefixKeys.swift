import CacheProtocol

/// A prompt's keys computed on demand (SHA-256 chain, `PrefixKeyChain`), and the ones computed so far.
struct PromptPrefixKeys: PrefixKeySource {
    /// The keys computed so far, in page order.
    private(set) var keys: [PrefixKey] = []
    private var chain: PrefixKeyChain
    private let tokens: [UInt32]
    private let pageSize: Int

    /// The keys of `tokens`' full pages in `namespace` under model `fingerprint`.
    init(tokens: [UInt32], namespace: String, fingerprint: ModelFingerprint, pageSize: Int) {
        self.tokens = tokens
        self.pageSize = pageSize
        chain = PrefixKeyChain(namespace: namespace, fingerprint: fingerprint, pageSize: pageSize)
        keys.reserveCapacity(tokens.count / max(1, pageSize))
    }

    /// The next full page's key; `nil` past the last full page.
    mutating func next() -> PrefixKey? {
        let start = keys.count * pageSize
        guard pageSize >= 1, start + pageSize <= tokens.count, let key = chain.next(tokens[start..<(start + pageSize)])
        else {
            return nil
        }
        keys.append(key)
        return key
    }
}

import CacheProtocol

/// Where `PrefixIndex.leadingRuns(credits:keys:)` takes a prompt's keys from, one at a time, in
/// page order: a stored list, or a prompt whose keys are computed only as far as they are asked for.
protocol PrefixKeySource {
    /// The next page's key; `nil` when there are no more.
    mutating func next() -> PrefixKey?
}

/// Keys already computed.
struct StoredPrefixKeys: PrefixKeySource {
    private var iterator: IndexingIterator<[PrefixKey]>

    /// The keys of `keys`, in order.
    init(_ keys: [PrefixKey]) {
        iterator = keys.makeIterator()
    }

    /// The next key of the list.
    mutating func next() -> PrefixKey? { iterator.next() }
}

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
        guard pageSize >= 1, start + pageSize <= tokens.count, let key = chain.next(tokens[start..<(start + pageSize)]) else {
            return nil
        }
        keys.append(key)
        return key
    }
}

import CacheProtocol

/// A prompt's keys taken, page by page, from a `PrefixKeyCache` when it holds them and computed
/// with SHA-256 (`PrefixKeyChain`) when it does not; the keys so far. Every key equals the one
/// `PrefixKey.chain` gives for the prompt.
///
/// A page is looked for first in the entry after the previous page's (keys stored together lie
/// together, so a run of hits reads memory in order), then by its hash. After a miss, the next
/// pages' hashes are computed and their buckets fetched while the missing key is computed. Keys it
/// had to compute are offered to the cache only when `leadingPagesHeld` says some worker holds
/// them: keys past the longest cached prefix (the search's look-ahead, a prompt's new pages) would
/// only push out keys that can hit.
///
/// The cache is a stored property so that the caller can move its own cache in (`swap`) for one
/// placement and back after, without copying it.
struct CachedPromptPrefixKeys: PrefixKeySource {
    /// Pages whose hashes are computed (and buckets fetched) ahead of the page asked for.
    static let hashAhead = 3

    /// The cache consulted and filled.
    var cache: PrefixKeyCache
    /// The keys given so far, in page order.
    private(set) var keys: [PrefixKey] = []
    private let tokens: [UInt32]
    private let namespace: String
    private let fingerprint: ModelFingerprint
    private let pageSize: Int
    private let pageCount: Int
    private var namespaceID: UInt32?
    private var hashes: [UInt64] = []
    private var computedPages: [Int] = []
    /// The SHA-256 chain keys are computed with, made at the first key computed unless given.
    private(set) var chain: PrefixKeyChain?
    /// The entry of the previous page when it was a hit.
    private var lastEntry: Int?
    /// The page the cache was last asked for and did not hold (its key not computed yet).
    private var missedPage = -1

    /// The keys of `tokens`' full pages in `namespace` under model `fingerprint`, pages of
    /// `pageSize` tokens, looked up in `cache`; keys to compute are computed with `chain` when
    /// given (a chain an earlier prompt of the same namespace, model and page size used, reused
    /// rather than made again: it is resumed at each page it computes).
    init(
        tokens: [UInt32],
        namespace: String,
        fingerprint: ModelFingerprint,
        pageSize: Int,
        cache: PrefixKeyCache,
        chain: PrefixKeyChain? = nil
    ) {
        self.tokens = tokens
        self.namespace = namespace
        self.fingerprint = fingerprint
        self.pageSize = pageSize
        pageCount = pageSize >= 1 ? tokens.count / pageSize : 0
        self.cache = cache
        self.chain = chain
        // A reused chain starts again before the first page, as a new one would.
        self.chain?.resume(after: PrefixKey(digest: .zero), pages: 0)
        keys.reserveCapacity(pageCount)
    }

    /// The next full page's key; `nil` past the last full page.
    mutating func next() -> PrefixKey? {
        let page = keys.count
        guard page < pageCount else { return nil }
        if cache.isEnabled {
            if missedPage != page, let key = cached(page) { return key }
        } else {
            cache.countMiss()
        }
        let parent = keys.last ?? PrefixKey(digest: .zero)
        let start = page * pageSize
        if chain == nil {
            chain = PrefixKeyChain(namespace: namespace, fingerprint: fingerprint, pageSize: pageSize)
        }
        if chain?.count != page { chain?.resume(after: parent, pages: page) }
        guard let key = chain?.next(tokens[start..<(start + pageSize)]) else { return nil }
        cache.countComputed()
        computedPages.append(page)
        keys.append(key)
        return key
    }

    /// The next full page's key if the cache holds it (or the cache is off, when it is computed as
    /// `next` does); `nil` when it would have to be computed, or past the last full page.
    mutating func nextIfKnown() -> PrefixKey? {
        guard cache.isEnabled else { return next() }
        let page = keys.count
        guard page < pageCount, missedPage != page else { return nil }
        return cached(page)
    }

    /// With the cache on, `nextIfKnown` only looks keys up.
    var readsAheadFreely: Bool { cache.isEnabled }

    /// Page `page`'s key from the cache (appended to `keys`), or `nil`, noting the miss.
    private mutating func cached(_ page: Int) -> PrefixKey? {
        let parent = keys.last ?? PrefixKey(digest: .zero)
        let start = page * pageSize
        let namespaceID = resolvedNamespaceID()
        let tokens = tokens
        let found = tokens.withUnsafeBufferPointer { buffer -> (key: PrefixKey, entry: Int)? in
            guard let base = buffer.baseAddress else { return nil }
            if let previous = lastEntry,
                let hit = cache.lookup(after: previous, namespace: namespaceID, parent: parent, tokens: base + start)
            {
                return hit
            }
            hashAhead(through: page + 1, namespace: namespaceID, tokens: base, prefetch: false)
            let hit = cache.lookup(hash: hashes[page], namespace: namespaceID, parent: parent, tokens: base + start)
            if let hit, let previous = lastEntry {
                // The prompt's cached pages continue in another stored run: the next prompt that
                // comes this way looks there without the hash.
                cache.noteContinuation(of: previous, at: hit.entry)
            }
            if hit == nil {
                // The prompt leaves what is cached here: the next pages are likely misses too,
                // whose buckets can come while this page's key is computed.
                hashAhead(
                    through: min(pageCount, page + 1 + Self.hashAhead),
                    namespace: namespaceID,
                    tokens: base,
                    prefetch: true
                )
            }
            return hit
        }
        lastEntry = found?.entry
        guard let found else {
            missedPage = page
            return nil
        }
        keys.append(found.key)
        return found.key
    }

    /// Stores in the cache the keys it computed among the first `pages`.
    mutating func leadingPagesHeld(_ pages: Int) {
        guard cache.isEnabled, let namespaceID else { return }
        let pageSize = pageSize
        let tokens = tokens
        tokens.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            for page in computedPages where page < pages {
                hashAhead(through: page + 1, namespace: namespaceID, tokens: base, prefetch: false)
                cache.insert(
                    hash: hashes[page],
                    namespace: namespaceID,
                    parent: page == 0 ? PrefixKey(digest: .zero) : keys[page - 1],
                    key: keys[page],
                    tokens: base + page * pageSize
                )
            }
        }
        computedPages.removeAll()
    }

    private mutating func resolvedNamespaceID() -> UInt32 {
        if let namespaceID { return namespaceID }
        let id = cache.namespaceID(namespace)
        namespaceID = id
        hashes.reserveCapacity(pageCount)
        return id
    }

    /// Computes the hashes of pages up to `end` (exclusive) of the prompt whose tokens start at
    /// `tokens`; with `prefetch`, starts fetching their buckets.
    private mutating func hashAhead(through end: Int, namespace: UInt32, tokens: UnsafePointer<UInt32>, prefetch: Bool)
    {
        guard hashes.count < end else { return }
        let pageSize = pageSize
        let hash = cache.hash
        var previous = hashes.last ?? hash.start(namespace: namespace)
        while hashes.count < end {
            previous = hash.next(previous, tokens: tokens + hashes.count * pageSize, pageSize: pageSize)
            hashes.append(previous)
            if prefetch { cache.prefetchBucket(previous) }
        }
    }
}

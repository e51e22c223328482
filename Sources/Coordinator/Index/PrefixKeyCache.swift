import CacheProtocol

/// The prefix keys of pages the coordinator has hashed before, so that a prompt sharing a prefix
/// with earlier prompts costs SHA-256 only for its new pages. A cached key is exactly the key
/// `PrefixKey.chain` gives: a page is found only when its namespace, its parent key and every one
/// of its token ids equal the stored ones, and those are the whole input of the key besides the
/// model fingerprint and page size, which are fixed per cache.
///
/// Layout, chosen so that a hit touches one bucket and one entry's adjacent cache lines:
/// - one entry of `10 + ⌈pageSize / 2⌉` words per page, in one array: the namespace id and a
///   recently-used bit, the page's hash, the parent key, the key, the token ids two per word;
/// - an open-addressing table of 8-byte buckets (32 bits of the hash as a tag, the entry's index),
///   linear probing, at most 70% full, deletion by backward shift;
/// - pages are filed under `PrefixTokenHash`, a seeded running hash of the prompt's tokens up to
///   the page, so the buckets of a prompt's next pages can be fetched before their keys are known.
///
/// Bounded by a byte budget: entries and buckets together never exceed it. When full, the entry
/// to replace is chosen by the clock rule (second chance): a hand sweeps the entries, sparing and
/// clearing those used since it last passed. Resident memory grows with use up to the budget: the
/// entries' array reserves the budget's address space at the first insertion, and its memory
/// pages become resident as entries are written; the buckets double as entries come.
struct PrefixKeyCache: Sendable {
    /// Most entries per 100 buckets.
    static let maxLoadPercent = 70
    /// Words of an entry before its tokens: header, hash, parent key (4), key (4).
    private static let fixedWords = 10
    private static let referencedBit: UInt64 = 1 << 32
    /// Where an entry's continuation (`noteContinuation`), plus one, lies in its header word.
    private static let continuationShift: UInt64 = 33
    /// The header bits below the continuation: namespace id and recently-used bit.
    private static let headerMask: UInt64 = (1 << 33) - 1
    private static let firstBuckets = 1024

    /// Tokens per page.
    let pageSize: Int
    /// Most pages it holds.
    let capacity: Int
    /// The hash pages are filed under.
    let hash: PrefixTokenHash
    private let maxBuckets: Int
    private let stride: Int
    private let tokenWords: Int
    private var storage: [UInt64] = []
    private var buckets: [UInt64] = []
    private var hand = 0
    private var namespaces: NamespaceTable
    /// Pages held.
    private(set) var count = 0
    /// Hits, misses, insertions and evictions so far.
    private(set) var statistics = PrefixKeyCacheStatistics()

    /// An empty cache of pages of `pageSize` tokens using at most `byteBudget` bytes for its
    /// entries and buckets (`entryBytes(pageSize:)` per page plus the buckets; a budget too small
    /// for one page holds none, and every key is computed). `maxNamespaces` bounds the namespace
    /// table (`NamespaceTable`).
    init(pageSize: Int, byteBudget: Int, hash: PrefixTokenHash, maxNamespaces: Int = NamespaceTable.maxNames) {
        self.pageSize = max(1, pageSize)
        self.hash = hash
        tokenWords = PageTokenWords.count(pageSize: self.pageSize)
        stride = Self.fixedWords + tokenWords
        let layout = Self.layout(pageSize: self.pageSize, byteBudget: byteBudget)
        capacity = layout.entries
        maxBuckets = layout.buckets
        namespaces = NamespaceTable(maxNames: maxNamespaces)
    }

    /// A cache holding nothing that allocates nothing: what a `CoordinatorInstance` keeps in place
    /// of its cache while the cache is moved out for a placement.
    static let placeholder = PrefixKeyCache(pageSize: 1, byteBudget: 0, hash: PrefixTokenHash(seed: 0))

    /// Bytes of one entry for pages of `pageSize` tokens (buckets not included): 80 + 8 ×
    /// ⌈pageSize / 2⌉, 144 for 16 tokens.
    static func entryBytes(pageSize: Int) -> Int {
        8 * (fixedWords + PageTokenWords.count(pageSize: max(1, pageSize)))
    }

    /// The most entries `byteBudget` holds with their buckets (a power of two, at most 70% full),
    /// and the buckets they need.
    static func layout(pageSize: Int, byteBudget: Int) -> (entries: Int, buckets: Int) {
        let entryBytes = entryBytes(pageSize: pageSize)
        var best = (entries: 0, buckets: 0)
        var buckets = 16
        while buckets * 8 < byteBudget, buckets <= 1 << 31 {
            let entries = min(buckets * maxLoadPercent / 100, (byteBudget - buckets * 8) / entryBytes)
            if entries > best.entries { best = (entries, buckets) }
            buckets *= 2
        }
        guard best.entries > 0 else { return (0, 0) }
        var needed = 16
        while needed * maxLoadPercent / 100 < best.entries { needed *= 2 }
        return (best.entries, needed)
    }

    /// Whether it can hold any page.
    var isEnabled: Bool { capacity > 0 }

    /// Bytes its entries and buckets use (at most the budget).
    var usedBytes: Int { 8 * (count * stride + buckets.count) }

    /// The id pages of `namespace` are filed with. Ids are never reused while a page may carry
    /// one; when they run out, every page is dropped.
    mutating func namespaceID(_ namespace: String) -> UInt32 {
        let (id, restarted) = namespaces.id(of: namespace)
        if restarted { removeAll() }
        return id
    }

    // MARK: Lookup

    /// The key of the page of `namespace` whose parent key is `parent` and whose `pageSize` tokens
    /// start at `tokens`, filed under `hash` (`PrefixTokenHash.next`, unmasked), and its entry;
    /// `nil` when not held. A hit marks the page recently used and starts bringing in the entry
    /// after it, where a prompt's next page likely lies.
    mutating func lookup(
        hash: UInt64,
        namespace: UInt32,
        parent: PrefixKey,
        tokens: UnsafePointer<UInt32>
    ) -> (key: PrefixKey, entry: Int)? {
        guard let entry = find(hash: self.hash.masked(hash), namespace: namespace, parent: parent, tokens: tokens)
        else {
            statistics.misses += 1
            return nil
        }
        prefetchEntry(at: entry + 1)
        return (hit(entry), entry)
    }

    /// The key of the page as `lookup` finds it, but looked for only where the page after
    /// `entry`'s is likely to lie, without the hash or the buckets: in the entry after `entry`
    /// (where the next page of a prompt whose keys were stored together lies), then in `entry`'s
    /// continuation (the entry the page after it was last found in by hash, `noteContinuation`);
    /// `nil` (and nothing counted) when neither is the page. A hit is marked and the entry after
    /// it brought in, as `lookup(hash:…)` does.
    mutating func lookup(
        after entry: Int,
        namespace: UInt32,
        parent: PrefixKey,
        tokens: UnsafePointer<UInt32>
    ) -> (key: PrefixKey, entry: Int)? {
        guard entry < count else { return nil }
        let parentWords = parent.digest.words
        let count = count
        let stride = stride
        let found = storage.withUnsafeBufferPointer { words -> Int? in
            let next = entry + 1
            if next < count, matches(words, entry: next, namespace: namespace, parent: parentWords, tokens: tokens) {
                return next
            }
            let continuation = Int(truncatingIfNeeded: words[entry * stride] >> Self.continuationShift) - 1
            guard continuation >= 0, continuation != next, continuation < count,
                matches(words, entry: continuation, namespace: namespace, parent: parentWords, tokens: tokens)
            else { return nil }
            return continuation
        }
        guard let found else { return nil }
        prefetchEntry(at: found + 1)
        return (hit(found), found)
    }

    /// Starts bringing every line of entry `entry` (if it exists) towards the core.
    @inline(__always)
    private func prefetchEntry(at entry: Int) {
        guard entry < count else { return }
        let base = entry * stride
        let stride = stride
        storage.withUnsafeBufferPointer { words in
            guard let start = words.baseAddress else { return }
            var offset = 0
            while offset < stride {
                CacheLinePrefetch.line(start + base + offset)
                offset += 8
            }
            CacheLinePrefetch.line(start + base + stride - 1)
        }
    }

    /// Remembers that the page after `entry`'s was found, by hash, in `next`, so that the next
    /// `lookup(after: entry, …)` looks there first. Only a hint: a later lookup still compares the
    /// whole page, so a continuation that was replaced since is merely a miss.
    mutating func noteContinuation(of entry: Int, at next: Int) {
        guard entry < count, next < count, next != entry + 1, next < Int(UInt32.max >> 1) else { return }
        let base = entry * stride
        storage[base] = storage[base] & Self.headerMask | UInt64(next + 1) << Self.continuationShift
    }

    /// Counts a hit on `entry`, marks it recently used and returns its key.
    @inline(__always)
    private mutating func hit(_ entry: Int) -> PrefixKey {
        statistics.hits += 1
        let base = entry * stride
        return storage.withUnsafeMutableBufferPointer { words in
            words[base] |= Self.referencedBit
            return PrefixKey(
                digest: Digest32(words: (words[base + 6], words[base + 7], words[base + 8], words[base + 9]))
            )
        }
    }

    /// Whether `entry` is the page of `namespace` with parent key words `parent` and the tokens at
    /// `tokens`: every word compared.
    @inline(__always)
    private func matches(
        _ words: UnsafeBufferPointer<UInt64>,
        entry: Int,
        namespace: UInt32,
        parent: (UInt64, UInt64, UInt64, UInt64),
        tokens: UnsafePointer<UInt32>
    ) -> Bool {
        let base = entry * stride
        guard UInt32(truncatingIfNeeded: words[base]) == namespace,
            words[base + 2] == parent.0, words[base + 3] == parent.1,
            words[base + 4] == parent.2, words[base + 5] == parent.3
        else { return false }
        for index in 0..<tokenWords
        where words[base + Self.fixedWords + index] != PageTokenWords.word(tokens, pageSize: pageSize, index: index) {
            return false
        }
        return true
    }

    /// Counts a key computed without asking (the cache holds nothing).
    mutating func countMiss() {
        statistics.misses += 1
    }

    /// Counts a key computed with SHA-256.
    mutating func countComputed() {
        statistics.computed += 1
    }

    /// Starts bringing the bucket where the probe for `hash` (unmasked) begins towards the core.
    @inline(__always)
    func prefetchBucket(_ hash: UInt64) {
        let masked = self.hash.masked(hash)
        buckets.withUnsafeBufferPointer { table in
            guard let base = table.baseAddress else { return }
            CacheLinePrefetch.line(base + (Int(truncatingIfNeeded: masked) & (table.count - 1)))
        }
    }

    /// Reads the bucket where the probe for `hash` (unmasked) begins and, when its tag matches,
    /// starts bringing the entry it names towards the core.
    @inline(__always)
    func prefetchEntry(_ hash: UInt64) {
        guard !buckets.isEmpty else { return }
        let masked = self.hash.masked(hash)
        let value = buckets[Int(truncatingIfNeeded: masked) & (buckets.count - 1)]
        guard value != 0, value >> 32 == masked >> 32 else { return }
        let base = (Int(truncatingIfNeeded: value & 0xFFFF_FFFF) - 1) * stride
        storage.withUnsafeBufferPointer { words in
            guard let start = words.baseAddress, base + stride <= words.count else { return }
            var offset = 0
            while offset < stride {
                CacheLinePrefetch.line(start + base + offset)
                offset += 8
            }
            CacheLinePrefetch.line(start + base + stride - 1)
        }
    }

    /// The entry of the page, if held; `masked` is its masked hash.
    private func find(
        hash masked: UInt64,
        namespace: UInt32,
        parent: PrefixKey,
        tokens: UnsafePointer<UInt32>
    )
        -> Int?
    {
        guard count > 0 else { return nil }
        let tag = masked >> 32
        let parentWords = parent.digest.words
        return buckets.withUnsafeBufferPointer { table in
            storage.withUnsafeBufferPointer { words in
                let mask = table.count - 1
                var bucket = Int(truncatingIfNeeded: masked) & mask
                while true {
                    let value = table[bucket]
                    if value == 0 { return nil }
                    if value >> 32 == tag {
                        let entry = Int(truncatingIfNeeded: value & 0xFFFF_FFFF) - 1
                        if matches(words, entry: entry, namespace: namespace, parent: parentWords, tokens: tokens) {
                            return entry
                        }
                    }
                    bucket = (bucket + 1) & mask
                }
            }
        }
    }

    // MARK: Insertion

    /// Remembers `key` as the key of the page of `namespace` with parent key `parent` and the
    /// `pageSize` tokens at `tokens`, filed under `hash` (unmasked). When full, replaces the page
    /// the clock hand picks. Nothing happens when the page is already held or the cache holds
    /// nothing.
    mutating func insert(
        hash: UInt64,
        namespace: UInt32,
        parent: PrefixKey,
        key: PrefixKey,
        tokens: UnsafePointer<UInt32>
    ) {
        guard isEnabled else { return }
        let masked = self.hash.masked(hash)
        guard find(hash: masked, namespace: namespace, parent: parent, tokens: tokens) == nil else { return }
        let entry: Int
        if count < capacity {
            entry = count
            count += 1
            if storage.count + stride > storage.capacity {
                // The whole budget's entries at once: address space only, as the pages of memory
                // become resident when first written; no copy as the cache fills.
                storage.reserveCapacity(capacity * stride)
            }
            storage.append(contentsOf: repeatElement(0, count: stride))
            growIfNeeded()
        } else {
            entry = victim()
            removeBucket(of: entry)
            statistics.evictions += 1
        }
        let base = entry * stride
        let parentWords = parent.digest.words
        let keyWords = key.digest.words
        let tokenWords = tokenWords
        let pageSize = pageSize
        storage.withUnsafeMutableBufferPointer { words in
            words[base] = UInt64(namespace)
            words[base + 1] = masked
            words[base + 2] = parentWords.0
            words[base + 3] = parentWords.1
            words[base + 4] = parentWords.2
            words[base + 5] = parentWords.3
            words[base + 6] = keyWords.0
            words[base + 7] = keyWords.1
            words[base + 8] = keyWords.2
            words[base + 9] = keyWords.3
            for index in 0..<tokenWords {
                words[base + Self.fixedWords + index] = PageTokenWords.word(tokens, pageSize: pageSize, index: index)
            }
        }
        addBucket(masked, entry: entry)
        statistics.insertions += 1
    }

    /// Drops every page (statistics are kept).
    mutating func removeAll() {
        count = 0
        hand = 0
        storage.removeAll(keepingCapacity: true)
        for index in buckets.indices { buckets[index] = 0 }
    }

    /// The entry the clock hand stops at: the first not used since the hand last passed it,
    /// clearing the marks of those it passes.
    private mutating func victim() -> Int {
        let stride = stride
        let count = count
        var hand = hand
        let chosen = storage.withUnsafeMutableBufferPointer { words in
            while true {
                let current = hand
                hand = hand + 1 == count ? 0 : hand + 1
                if words[current * stride] & Self.referencedBit == 0 { return current }
                words[current * stride] &= ~Self.referencedBit
            }
        }
        self.hand = hand
        return chosen
    }

    private mutating func addBucket(_ masked: UInt64, entry: Int) {
        let mask = buckets.count - 1
        var bucket = Int(truncatingIfNeeded: masked) & mask
        while buckets[bucket] != 0 { bucket = (bucket + 1) & mask }
        buckets[bucket] = (masked >> 32) << 32 | UInt64(entry + 1)
    }

    /// Empties the bucket naming `entry`, shifting back the buckets after it that may move.
    private mutating func removeBucket(of entry: Int) {
        let stride = stride
        let masked = storage[entry * stride + 1]
        let mask = buckets.count - 1
        var hole = Int(truncatingIfNeeded: masked) & mask
        while buckets[hole] & 0xFFFF_FFFF != UInt64(entry + 1) {
            guard buckets[hole] != 0 else { return }
            hole = (hole + 1) & mask
        }
        var next = (hole + 1) & mask
        while buckets[next] != 0 {
            let other = Int(truncatingIfNeeded: buckets[next] & 0xFFFF_FFFF) - 1
            let home = Int(truncatingIfNeeded: storage[other * stride + 1]) & mask
            if (next - home) & mask >= (next - hole) & mask {
                buckets[hole] = buckets[next]
                hole = next
            }
            next = (next + 1) & mask
        }
        buckets[hole] = 0
    }

    /// Makes the first table, or doubles it (up to the layout's size) once it is 70% full.
    private mutating func growIfNeeded() {
        if buckets.isEmpty {
            buckets = Array(repeating: 0, count: min(maxBuckets, Self.firstBuckets))
            return
        }
        guard count * 100 > buckets.count * Self.maxLoadPercent, buckets.count < maxBuckets else { return }
        buckets = Array(repeating: 0, count: buckets.count * 2)
        for entry in 0..<count where entry != count - 1 {
            addBucket(storage[entry * stride + 1], entry: entry)
        }
    }
}

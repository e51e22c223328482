import CacheProtocol
import Kernels
import Testing

@testable import Coordinator

/// The cache of computed prefix keys: every key it gives equals `PrefixKey.chain`'s, across
/// namespaces, under eviction and under forced hash collisions; only keys some worker holds are
/// stored; the coordinator's placement uses it.
@Suite("PrefixKeyCache")
struct PrefixKeyCacheTests {
    /// Keys of `tokens` taken through `cache` as a placement takes them: every page asked for,
    /// then the first `held` pages (all when `nil`) reported held.
    static func cachedChain(
        _ cache: inout PrefixKeyCache,
        tokens: [UInt32],
        namespace: String,
        fingerprint: ModelFingerprint,
        held: Int? = nil
    ) -> [PrefixKey] {
        var prompt = CachedPromptPrefixKeys(
            tokens: tokens,
            namespace: namespace,
            fingerprint: fingerprint,
            pageSize: cache.pageSize,
            cache: PrefixKeyCache.placeholder
        )
        swap(&prompt.cache, &cache)
        while prompt.next() != nil {}
        prompt.leadingPagesHeld(held ?? prompt.keys.count)
        swap(&prompt.cache, &cache)
        return prompt.keys
    }

    /// Prompts of `pages` full pages (and a partial page): each the first 0…`pages` pages of one of
    /// `bases` base prompts, then fresh tokens.
    static func sharingPrompts(count: Int, bases: Int, pages: Int, pageSize: Int, seed: UInt64) -> [[UInt32]] {
        var random = SplitMix64(seed: seed)
        let baseTokens = (0..<bases).map { _ in
            (0..<(pages * pageSize)).map { _ in UInt32(truncatingIfNeeded: random.next()) }
        }
        return (0..<count).map { _ in
            let base = Int(random.next() % UInt64(bases))
            let shared = Int(random.next() % UInt64(pages + 1))
            var tokens = Array(baseTokens[base].prefix(shared * pageSize))
            while tokens.count < pages * pageSize + pageSize / 2 {
                tokens.append(UInt32(truncatingIfNeeded: random.next() % 4))
            }
            return tokens
        }
    }

    static func fingerprint(pageSize: Int) throws -> ModelFingerprint {
        try ModelSpec(
            name: "tiny",
            layers: 2,
            queryHeads: 2,
            kvHeads: 1,
            headDim: 4,
            kvStorage: .f32,
            pageSize: pageSize
        )
        .fingerprint
    }

    @Test(
        "random prompts sharing prefixes get exactly PrefixKey.chain's keys, and shared pages are hits",
        arguments: [1, 3, 4, 16]
    )
    func sharedPrefixes(pageSize: Int) throws {
        let fingerprint = try Self.fingerprint(pageSize: pageSize)
        var cache = PrefixKeyCache(pageSize: pageSize, byteBudget: 1 << 22, hash: PrefixTokenHash(seed: 42))
        let prompts = Self.sharingPrompts(count: 400, bases: 12, pages: 10, pageSize: pageSize, seed: 7)
        for tokens in prompts {
            let expected = PrefixKey.chain(namespace: "t", fingerprint: fingerprint, tokens: tokens, pageSize: pageSize)
            #expect(Self.cachedChain(&cache, tokens: tokens, namespace: "t", fingerprint: fingerprint) == expected)
        }
        #expect(cache.statistics.hits > 0)
        #expect(cache.statistics.evictions == 0)
        #expect(cache.statistics.hits + cache.statistics.misses == prompts.count * 10)
        // Every page is held now: the same prompts again are all hits.
        let before = cache.statistics
        for tokens in prompts.prefix(50) {
            let expected = PrefixKey.chain(namespace: "t", fingerprint: fingerprint, tokens: tokens, pageSize: pageSize)
            #expect(Self.cachedChain(&cache, tokens: tokens, namespace: "t", fingerprint: fingerprint) == expected)
        }
        #expect(cache.statistics.since(before).hits == 50 * 10)
        #expect(cache.statistics.since(before).misses == 0)
    }

    @Test("a prompt whose cached pages continue in another stored run hits there, also once that run is replaced")
    func continuations() throws {
        let pageSize = 4
        let fingerprint = try Self.fingerprint(pageSize: pageSize)
        // Room for 24 pages: the runs below fill it, and the later prompts replace entries.
        let budget = 24 * PrefixKeyCache.entryBytes(pageSize: pageSize) + 64 * 8
        var cache = PrefixKeyCache(pageSize: pageSize, byteBudget: budget, hash: PrefixTokenHash(seed: 9))
        let base = (0..<(8 * pageSize)).map { UInt32(100 + $0) }
        let other = (0..<(6 * pageSize)).map { UInt32(900 + $0) }
        func check(_ tokens: [UInt32]) {
            let expected = PrefixKey.chain(namespace: "t", fingerprint: fingerprint, tokens: tokens, pageSize: pageSize)
            #expect(Self.cachedChain(&cache, tokens: tokens, namespace: "t", fingerprint: fingerprint) == expected)
        }
        // Pages 0–3 stored, then another prompt's, then pages 4–7 after them.
        check(Array(base.prefix(4 * pageSize)))
        check(other)
        check(base)
        let before = cache.statistics
        check(base)
        check(base)
        #expect(cache.statistics.since(before).hits == 16)
        // Other prompts replace entries (the continuation among them): still the exact keys.
        for round in 0..<6 { check((0..<(6 * pageSize)).map { UInt32(5000 + 100 * round + $0) }) }
        #expect(cache.statistics.evictions > 0)
        check(base)
        check(base)
    }

    @Test("through the cache, the protocol's test vectors; a second pass hits and gives the same keys")
    func vectors() throws {
        let spec = try ModelSpec(parsing: "name=llama3-8b,layers=32,q-heads=32,kv-heads=8,head-dim=128,kv=f16,page=16")
        var cache = PrefixKeyCache(pageSize: 16, byteBudget: 1 << 20, hash: PrefixTokenHash(seed: 1))
        let tokens = (1...40).map(UInt32.init)
        for _ in 0..<2 {
            let a = Self.cachedChain(&cache, tokens: tokens, namespace: "tenant-a", fingerprint: spec.fingerprint)
            #expect(
                a.map(\.hex) == [
                    "d5aaed6861567d0fdb9cd2aed5744d70a2a03bbd4e0008f7fbfd7a80e084dcab",
                    "98081a301ca652899dedbf4eb7917f1e72348cf0c2d62c862a30c7fd3b54deec",
                ]
            )
            let b = Self.cachedChain(&cache, tokens: tokens, namespace: "tenant-b", fingerprint: spec.fingerprint)
            #expect(
                b.map(\.hex) == [
                    "ae5e748780913920b39a9e6088b74d91ae4dad27fb45a9448156ed599f1fad64",
                    "1d7e30fe6541092b47bfa05e1ec9a18b95826f535dd1e4465ff638c582692f67",
                ]
            )
        }
        #expect(cache.statistics.misses == 4)
        #expect(cache.statistics.hits == 4)
    }

    @Test(
        "the same tokens in another namespace are other keys and never a hit, even when every hash collides",
        arguments: [UInt64.max, 0]
    )
    func namespacesApart(mask: UInt64) throws {
        let fingerprint = try Self.fingerprint(pageSize: 4)
        var cache = PrefixKeyCache(pageSize: 4, byteBudget: 1 << 20, hash: PrefixTokenHash(seed: 9, mask: mask))
        let prompts = Self.sharingPrompts(count: 60, bases: 4, pages: 6, pageSize: 4, seed: 3)
        for tokens in prompts {
            _ = Self.cachedChain(&cache, tokens: tokens, namespace: "tenant-a", fingerprint: fingerprint)
        }
        let before = cache.statistics
        for tokens in prompts {
            let keys = Self.cachedChain(&cache, tokens: tokens, namespace: "tenant-b", fingerprint: fingerprint)
            #expect(
                keys == PrefixKey.chain(namespace: "tenant-b", fingerprint: fingerprint, tokens: tokens, pageSize: 4)
            )
            let other = PrefixKey.chain(namespace: "tenant-a", fingerprint: fingerprint, tokens: tokens, pageSize: 4)
            #expect(Set(keys).isDisjoint(with: other))
        }
        // tenant-b's first prompt found nothing of tenant-a's; its hits are its own pages.
        var fresh = PrefixKeyCache(pageSize: 4, byteBudget: 1 << 20, hash: PrefixTokenHash(seed: 9, mask: mask))
        for tokens in prompts {
            _ = Self.cachedChain(&fresh, tokens: tokens, namespace: "tenant-b", fingerprint: fingerprint)
        }
        #expect(cache.statistics.since(before).hits == fresh.statistics.hits)
        // The empty namespace and a namespace are apart too.
        let tokens = prompts[0]
        #expect(
            Self.cachedChain(&cache, tokens: tokens, namespace: "", fingerprint: fingerprint)
                == PrefixKey.chain(namespace: "", fingerprint: fingerprint, tokens: tokens, pageSize: 4)
        )
    }

    @Test(
        "under eviction pressure every key is still exact, the cache stays within its budget, and recent pages survive"
    )
    func evictionPressure() throws {
        let fingerprint = try Self.fingerprint(pageSize: 4)
        let budget = 40 * PrefixKeyCache.entryBytes(pageSize: 4) + 64 * 8
        var cache = PrefixKeyCache(pageSize: 4, byteBudget: budget, hash: PrefixTokenHash(seed: 5))
        #expect(cache.capacity == 40)
        let prompts = Self.sharingPrompts(count: 600, bases: 30, pages: 8, pageSize: 4, seed: 11)
        var namespace = 0
        for tokens in prompts {
            namespace = (namespace + 1) % 3
            let keys = Self.cachedChain(&cache, tokens: tokens, namespace: "n\(namespace)", fingerprint: fingerprint)
            #expect(
                keys
                    == PrefixKey.chain(
                        namespace: "n\(namespace)",
                        fingerprint: fingerprint,
                        tokens: tokens,
                        pageSize: 4
                    )
            )
            #expect(cache.count <= cache.capacity)
        }
        #expect(cache.statistics.evictions > 0)
        #expect(cache.statistics.hits > 0)
        #expect(cache.count == cache.capacity)
        // A prompt just stored is found whole right after.
        let last = prompts[prompts.count - 1]
        let before = cache.statistics
        _ = Self.cachedChain(&cache, tokens: last, namespace: "n\(namespace)", fingerprint: fingerprint)
        #expect(cache.statistics.since(before).hits == 8)
    }

    @Test("with every hash forced equal, hits are still verified token for token and parent for parent")
    func forcedCollisions() throws {
        let fingerprint = try Self.fingerprint(pageSize: 4)
        let budget = 50 * PrefixKeyCache.entryBytes(pageSize: 4) + 128 * 8
        var cache = PrefixKeyCache(pageSize: 4, byteBudget: budget, hash: PrefixTokenHash(seed: 5, mask: 0))
        // Tokens from a tiny alphabet, so that many pages are equal but their parents are not.
        let prompts = Self.sharingPrompts(count: 500, bases: 10, pages: 6, pageSize: 4, seed: 13)
        for tokens in prompts {
            #expect(
                Self.cachedChain(&cache, tokens: tokens, namespace: "t", fingerprint: fingerprint)
                    == PrefixKey.chain(namespace: "t", fingerprint: fingerprint, tokens: tokens, pageSize: 4)
            )
        }
        #expect(cache.statistics.hits > 0)
        #expect(cache.statistics.evictions > 0)
        // Equal pages under different parents: the second page of each prompt below is [1, 1, 1, 1].
        var colliding = PrefixKeyCache(pageSize: 4, byteBudget: 1 << 16, hash: PrefixTokenHash(seed: 5, mask: 0))
        for first in UInt32(0)..<20 {
            let tokens: [UInt32] = [first, 0, 0, 0, 1, 1, 1, 1]
            #expect(
                Self.cachedChain(&colliding, tokens: tokens, namespace: "t", fingerprint: fingerprint)
                    == PrefixKey.chain(namespace: "t", fingerprint: fingerprint, tokens: tokens, pageSize: 4)
            )
        }
        #expect(colliding.statistics.hits == 0)
        // Pages differing in one token of the last word.
        for last in UInt32(0)..<20 {
            let tokens: [UInt32] = [0, 0, 0, last]
            #expect(
                Self.cachedChain(&colliding, tokens: tokens, namespace: "t", fingerprint: fingerprint)
                    == PrefixKey.chain(namespace: "t", fingerprint: fingerprint, tokens: tokens, pageSize: 4)
            )
        }
        #expect(colliding.statistics.hits == 1)
    }

    @Test("only keys some worker holds are stored; a budget of 0 stores nothing and still gives exact keys")
    func admission() throws {
        let fingerprint = try Self.fingerprint(pageSize: 4)
        var cache = PrefixKeyCache(pageSize: 4, byteBudget: 1 << 16, hash: PrefixTokenHash(seed: 2))
        let tokens = (0..<26).map { UInt32($0) }
        let keys = Self.cachedChain(&cache, tokens: tokens, namespace: "t", fingerprint: fingerprint, held: 2)
        #expect(keys == PrefixKey.chain(namespace: "t", fingerprint: fingerprint, tokens: tokens, pageSize: 4))
        #expect(cache.count == 2)
        let before = cache.statistics
        _ = Self.cachedChain(&cache, tokens: tokens, namespace: "t", fingerprint: fingerprint, held: 0)
        #expect(cache.statistics.since(before).hits == 2)
        #expect(cache.count == 2)

        var none = PrefixKeyCache(pageSize: 4, byteBudget: 0, hash: PrefixTokenHash(seed: 2))
        #expect(!none.isEnabled)
        #expect(
            Self.cachedChain(&none, tokens: tokens, namespace: "t", fingerprint: fingerprint)
                == PrefixKey.chain(namespace: "t", fingerprint: fingerprint, tokens: tokens, pageSize: 4)
        )
        #expect(none.count == 0)
        #expect(none.statistics.misses == 6)
    }

    @Test("the layout fits the budget: the default 256 MiB holds 1,631,118 pages of 16 tokens")
    func layout() {
        let (entries, buckets) = PrefixKeyCache.layout(pageSize: 16, byteBudget: 256 << 20)
        #expect(PrefixKeyCache.entryBytes(pageSize: 16) == 144)
        #expect(entries * 144 + buckets * 8 <= 256 << 20)
        #expect(entries == 1_631_118)
        #expect(buckets == 1 << 22)
        #expect(entries * 100 <= buckets * PrefixKeyCache.maxLoadPercent)
        for budget in [0, 100, 1000, 5000, 1 << 20] {
            let (entries, buckets) = PrefixKeyCache.layout(pageSize: 4, byteBudget: budget)
            #expect(entries * PrefixKeyCache.entryBytes(pageSize: 4) + buckets * 8 <= budget)
        }
    }

    @Test("namespace ids are never given twice, also after the table forgets its names")
    func namespaceIDs() {
        var table = NamespaceTable(maxNames: 3)
        var seen: Set<UInt32> = []
        for name in ["a", "b", "c", "d", "e", "a", "b"] {
            let (id, restarted) = table.id(of: name)
            #expect(!restarted)
            #expect(seen.insert(id).inserted)
        }
        #expect(table.id(of: "b").id == 7)
    }

    @Test(
        "the coordinator's placement takes its keys through the cache: exact keys, hits on the shared prefix, only held pages kept, one key hashed past the run"
    )
    func placement() throws {
        for budget in [CoordinatorConfiguration(spec: try CoordinatorHarness.spec()).prefixKeyCacheBytes, 0] {
            var harness = try CoordinatorHarness { $0.prefixKeyCacheBytes = budget }
            let pageSize = harness.pageSize
            let fingerprint = try CoordinatorHarness.spec().fingerprint
            let held = (0..<(3 * pageSize)).map { UInt32(1000 + $0) }
            let heldKeys = PrefixKey.chain(namespace: "t", fingerprint: fingerprint, tokens: held, pageSize: pageSize)
            try harness.join(1)
            try harness.join(2, keys: heldKeys)
            _ = harness.heartbeat(1)
            _ = harness.heartbeat(2)
            let prompt = held + (0..<(5 * pageSize)).map { UInt32(7 + $0) }
            let expected = PrefixKey.chain(namespace: "t", fingerprint: fingerprint, tokens: prompt, pageSize: pageSize)
            for round in 0..<2 {
                guard let (decision, keys) = harness.instance.place(tokens: prompt, namespace: "t", excluding: [])
                else {
                    Issue.record("no placement")
                    return
                }
                #expect(decision.worker == WorkerID(2))
                #expect(keys == Array(expected.prefix(keys.count)))
                // With the cache, a key past the run is hashed only once the page before it was
                // found: one past the 3 held pages; without it, the index's look-ahead takes three.
                #expect(keys.count == (budget == 0 ? 6 : 4))
                let cache = harness.instance.keyCache
                if budget == 0 {
                    #expect(cache.count == 0)
                } else {
                    #expect(cache.count == 3)
                    #expect(cache.statistics.hits == (round == 0 ? 0 : 3))
                }
            }
            // Another namespace: its own keys, no hit.
            let hitsBefore = harness.instance.keyCache.statistics.hits
            let other = harness.instance.place(tokens: prompt, namespace: "u", excluding: [])
            #expect(
                other?.1
                    == Array(
                        PrefixKey.chain(namespace: "u", fingerprint: fingerprint, tokens: prompt, pageSize: pageSize)
                            .prefix(other?.1.count ?? 0)
                    )
            )
            #expect(harness.instance.keyCache.statistics.hits == hitsBefore)
        }
    }
}

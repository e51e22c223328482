import Kernels

/// The hit rate no placement or cache can beat: the fraction of prompt tokens, over a sequence of
/// prompts, that lie in leading full pages some earlier prompt already had (one cache of unlimited
/// size that keeps every full page). Pages are compared by their whole prefix and tenant, as prefix
/// keys are.
public struct IdealHitRate: Sendable {
    /// Tokens per page.
    public let pageSize: Int
    private var seen: Set<PrefixHash> = []
    /// Prompt tokens seen so far.
    public private(set) var promptTokens = 0
    /// Prompt tokens that an unlimited cache would have held.
    public private(set) var hitTokens = 0

    /// An empty cache of `pageSize`-token pages.
    public init(pageSize: Int) {
        self.pageSize = max(1, pageSize)
    }

    /// The fraction so far (0 before any prompt).
    public var rate: Double { promptTokens == 0 ? 0 : Double(hitTokens) / Double(promptTokens) }

    /// Counts `tokens` as the next prompt of tenant `namespace`, then remembers its full pages
    /// (a page of one tenant never hits another's, as with prefix keys).
    public mutating func add(_ tokens: [UInt32], namespace: String = "") {
        promptTokens += tokens.count
        var parent = PrefixHash(
            parent: PrefixHash(high: 0, low: 0),
            tokens: ArraySlice(namespace.utf8.map(UInt32.init))
        )
        var hits = true
        for start in stride(from: 0, to: tokens.count - pageSize + 1, by: pageSize) {
            parent = PrefixHash(parent: parent, tokens: tokens[start..<start + pageSize])
            if hits, seen.contains(parent) {
                hitTokens += pageSize
            } else {
                hits = false
                seen.insert(parent)
            }
        }
    }

    /// A 128-bit chained hash of a page's tokens and everything before it: enough to tell the
    /// pages of a trace apart without the cost of the cluster's SHA-256 prefix keys.
    struct PrefixHash: Hashable {
        var high: UInt64
        var low: UInt64

        init(high: UInt64, low: UInt64) {
            self.high = high
            self.low = low
        }

        init(parent: PrefixHash, tokens: ArraySlice<UInt32>) {
            var a = parent.high
            var b = parent.low
            for token in tokens {
                var first = SplitMix64(seed: a ^ UInt64(token))
                var second = SplitMix64(seed: b &+ UInt64(token) &* 0x1656_67B1_9E37_79F9)
                a = first.next()
                b = second.next()
            }
            high = a
            low = b
        }
    }
}

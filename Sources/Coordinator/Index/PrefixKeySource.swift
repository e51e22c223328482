import CacheProtocol

/// Where `PrefixIndex.leadingRuns(credits:keys:)` takes a prompt's keys from, one at a time, in
/// page order: a stored list, or a prompt whose keys are computed only as far as they are asked for.
protocol PrefixKeySource {
    /// The next page's key; `nil` when there are no more.
    mutating func next() -> PrefixKey?

    /// The next page's key if it can be given without computing it; `nil` when it would have to
    /// be computed (a later `next()` computes it) or when there are no more.
    mutating func nextIfKnown() -> PrefixKey?

    /// Whether `nextIfKnown` never computes a key, so that keys may be asked for before the index
    /// has found the page before them (while it looks that page up): a source with a cache.
    var readsAheadFreely: Bool { get }

    /// Told, once the search is over, that some worker holds the first `pages` keys given (the
    /// longest leading run): a source that remembers keys keeps those it had to compute.
    mutating func leadingPagesHeld(_ pages: Int)
}

extension PrefixKeySource {
    /// Every key is known: `next()`.
    mutating func nextIfKnown() -> PrefixKey? { next() }

    /// `nextIfKnown` may compute.
    var readsAheadFreely: Bool { false }

    /// Nothing to remember.
    mutating func leadingPagesHeld(_ pages: Int) {}
}

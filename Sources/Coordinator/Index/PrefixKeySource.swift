import CacheProtocol

/// Where `PrefixIndex.leadingRuns(credits:keys:)` takes a prompt's keys from, one at a time, in
/// page order: a stored list, or a prompt whose keys are computed only as far as they are asked for.
protocol PrefixKeySource {
    /// The next page's key; `nil` when there are no more.
    mutating func next() -> PrefixKey?
}

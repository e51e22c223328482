import CacheProtocol

/// Keys already computed.
struct StoredPrefixKeys: PrefixKeySource {
    private var iterator: IndexingIterator<[PrefixKey]>

    /// The keys of `keys`, in order.
    init(_ keys: [PrefixKey]) {
        iterator = keys.makeIterator()
    }

    /// The next key of the list.
    mutating func next() -> PrefixKey? { iterator.next() }

    /// Every key is at hand.
    var readsAheadFreely: Bool { true }
}

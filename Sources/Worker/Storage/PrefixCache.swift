import CacheProtocol

/// The hot prefix cache: which page holds each cached full page's key, which cached pages nobody
/// but the cache references (the idle ones, in least-recently-used order), the keys demoted to the
/// worker's lower tiers, and the numbered stored/removed events that describe every change of the
/// set of keys the worker holds (hot or below).
///
/// A key demoted below stays held: no event. A key coming back hot from below is not new: no event.
/// A `removed` event is recorded when a key leaves the worker: removed from the cache, dropped on
/// eviction, or reported lost by the lower tiers.
///
/// The cache does not count references itself: its owner tells it when a cached page becomes idle
/// or busy. Page ids must lie in `0..<pageCount`; the owner guarantees it.
public struct PrefixCache: Sendable {
    private var pages: [PrefixKey: Int] = [:]
    private var keys: [PrefixKey?]
    private var idle: PageLRU
    /// Keys held in the lower tiers and not hot.
    public private(set) var lowerTierKeys: Set<PrefixKey> = []
    private var pendingEvents: [PrefixCacheChange] = []
    /// Number of the last event produced (0 before any).
    public private(set) var lastSequenceNumber: UInt64 = 0

    /// An empty cache over page ids `0..<pageCount`.
    public init(pageCount: Int) {
        keys = [PrefixKey?](repeating: nil, count: pageCount)
        idle = PageLRU(pageCount: pageCount)
    }

    /// Keys cached hot.
    public var count: Int { pages.count }

    /// Keys cached hot.
    public var hotKeys: Set<PrefixKey> { Set(pages.keys) }

    /// Cached pages that only the cache references, hence evictable.
    public var idleCount: Int { idle.count }

    /// Idle pages from least to most recently used.
    public var idlePagesInOrder: [Int] { idle.pagesInOrder }

    /// The page cached under `key`.
    public func page(for key: PrefixKey) -> Int? { pages[key] }

    /// The key `page` is cached under.
    public func key(of page: Int) -> PrefixKey? { keys[page] }

    /// Pages of the longest leading run of `chain` that is cached, in order: the lookup of a
    /// prompt's prefix. Stops at the first key that is not cached, and at a key repeated within
    /// the run (a chain of prefix keys never repeats, so the rest cannot be a real prefix).
    public func longestPrefix(of chain: [PrefixKey]) -> [Int] {
        var out: [Int] = []
        var seen: Set<Int> = []
        for key in chain {
            guard let page = pages[key], seen.insert(page).inserted else { break }
            out.append(page)
        }
        return out
    }

    /// Caches `page` under `key` and records a stored event, or a promoted one when the key was
    /// held below;
    /// `isIdle` says whether only the cache references it. Returns false, changing nothing, when the
    /// key or the page is already cached.
    @discardableResult
    public mutating func insert(key: PrefixKey, page: Int, isIdle: Bool) -> Bool {
        guard pages[key] == nil, keys[page] == nil else { return false }
        pages[key] = page
        keys[page] = key
        if isIdle { idle.insertMostRecent(page) }
        record(lowerTierKeys.remove(key) == nil ? .stored : .promoted, key)
        return true
    }

    /// Removes `key` (hot or below) and records a removed event; returns the page it was cached in
    /// when it was hot.
    @discardableResult
    public mutating func remove(key: PrefixKey) -> Int? {
        if lowerTierKeys.remove(key) != nil { record(.removed, key) }
        guard let page = pages.removeValue(forKey: key) else { return nil }
        keys[page] = nil
        idle.remove(page)
        record(.removed, key)
        return page
    }

    /// Takes `key` out of the hot cache as its page moves to a lower tier: the key stays held (a
    /// demoted event). Returns the page it was cached in.
    @discardableResult
    public mutating func demote(key: PrefixKey) -> Int? {
        guard let page = pages.removeValue(forKey: key) else { return nil }
        keys[page] = nil
        idle.remove(page)
        lowerTierKeys.insert(key)
        record(.demoted, key)
        return page
    }

    /// Records keys the lower tiers already hold (a disk tier rebuilt after a restart) as held below,
    /// without events: they are reported by snapshot. Keys that are hot are left as they are.
    public mutating func holdBelow(keys: [PrefixKey]) {
        for key in keys where pages[key] == nil { lowerTierKeys.insert(key) }
    }

    /// The lower tiers no longer hold `key`: unless it is hot, it left the worker (removed event).
    public mutating func lowerTierLost(key: PrefixKey) {
        if lowerTierKeys.remove(key) != nil { record(.removed, key) }
    }

    /// Marks a cached page idle (placed as the most recently used) or busy (off the eviction
    /// order). Does nothing for a page that is not cached.
    public mutating func setIdle(_ page: Int, _ isIdle: Bool) {
        guard keys[page] != nil else { return }
        if isIdle { idle.insertMostRecent(page) } else { idle.remove(page) }
    }

    /// The least recently used idle page and its key: the next eviction victim.
    public var evictionCandidate: (key: PrefixKey, page: Int)? {
        guard let page = idle.leastRecent, let key = keys[page] else { return nil }
        return (key, page)
    }

    /// Returns the events recorded since the last call, oldest first, and forgets them.
    public mutating func takeEvents() -> [PrefixCacheChange] {
        defer { pendingEvents.removeAll(keepingCapacity: true) }
        return pendingEvents
    }

    /// All keys held, hot and below, as of the last event.
    public func snapshot() -> CacheSnapshot {
        CacheSnapshot(sequenceNumber: lastSequenceNumber, keys: lowerTierKeys.union(pages.keys))
    }

    private mutating func record(_ kind: PrefixCacheChange.Kind, _ key: PrefixKey) {
        lastSequenceNumber += 1
        pendingEvents.append(PrefixCacheChange(sequenceNumber: lastSequenceNumber, kind: kind, key: key))
    }
}

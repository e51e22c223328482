import CacheProtocol

/// The worker's KV store as one state machine: the page allocator, the per-layer page pools, the
/// live sequences' block tables and the hot prefix cache. It does no I/O; operations that may
/// evict cached pages return `EvictionDirective`s for the layer that owns the lower tiers, and the
/// cache's stored/removed events are collected with `takeEvents()`.
///
/// Invariants: the cache holds one reference on each cached page; a cached page is on the LRU iff
/// nothing else references it; a page referenced more than once is never written (the writer
/// copies it first); pages referenced by live sequences are never evicted.
public struct SequenceManager: Sendable {
    /// Shape of every page.
    public let geometry: PageGeometry
    /// What eviction does with a cached page.
    public let evictionPolicy: EvictionPolicy
    /// Reference counts and the free list.
    public private(set) var allocator: PageAllocator
    /// The K/V data of every page.
    public private(set) var store: KVPageStore
    /// Cached full pages, their LRU and events.
    public private(set) var cache: PrefixCache
    private var sequences: [SequenceID: SequenceState] = [:]
    private var nextSequenceID: UInt64 = 1

    /// A store of `pageCount` pages (see `PageGeometry.pageCount(memoryBudget:)`), all allocated now.
    public init(geometry: PageGeometry, pageCount: Int, evictionPolicy: EvictionPolicy) throws(StorageError) {
        self.geometry = geometry
        self.evictionPolicy = evictionPolicy
        allocator = try PageAllocator(pageCount: pageCount)
        store = try KVPageStore(geometry: geometry, pageCount: pageCount)
        cache = PrefixCache(pageCount: pageCount)
    }

    /// Ids of the live sequences, ascending.
    public var sequenceIDs: [SequenceID] { sequences.keys.sorted() }

    /// The state of a live sequence.
    public func sequence(_ id: SequenceID) throws(StorageError) -> SequenceState {
        guard let state = sequences[id] else { throw .unknownSequence(id) }
        return state
    }

    /// Opens a sequence seeded with the longest cached leading run of `prefixKeys` (the keys of
    /// the prompt's full pages, in order); the seeded pages are shared, not copied. The sequence
    /// takes `requestedID` when given (an id assigned elsewhere, e.g. by a coordinator; throws
    /// `.sequenceExists` if a live sequence has it), else the next unused id of this manager.
    /// Returns the id and the number of tokens already cached.
    public mutating func open(
        prefixKeys: [PrefixKey],
        requestedID: SequenceID? = nil
    ) throws(StorageError) -> (id: SequenceID, cachedTokens: Int) {
        let id: SequenceID
        if let requestedID {
            guard sequences[requestedID] == nil else { throw .sequenceExists(requestedID) }
            id = requestedID
        } else {
            id = unusedID()
        }
        let pages = cache.longestPrefix(of: prefixKeys)
        for page in pages {
            try allocator.retain(page)
            cache.setIdle(page, false)
        }
        let cachedTokens = pages.count * geometry.pageSize
        sequences[id] = SequenceState(id: id, pages: pages, layers: geometry.layers, cachedTokens: cachedTokens)
        return (id, cachedTokens)
    }

    /// Opens a new sequence sharing every page of `id` (parallel sampling, beam search). Either
    /// sequence copies a shared page before its first write to it.
    public mutating func fork(_ id: SequenceID) throws(StorageError) -> SequenceID {
        let source = try sequence(id)
        for page in source.pages { try allocator.retain(page) }
        let child = unusedID()
        var state = SequenceState(
            id: child,
            pages: source.pages,
            layers: geometry.layers,
            cachedTokens: source.cachedTokens
        )
        state.layerLengths = source.layerLengths
        sequences[child] = state
        return child
    }

    /// Appends tokens to one layer of a sequence: `keys` and `values` are `[tokens, kvHeads,
    /// headDim]` floats. Allocates the pages the new tokens need and copies any shared page they
    /// land in, evicting least-recently-used idle cached pages when no page is free. Throws
    /// `.capacity`, changing nothing, when even evicting every idle page would not make room.
    public mutating func append(
        _ id: SequenceID,
        layer: Int,
        keys: [Float],
        values: [Float]
    ) throws(StorageError) -> [EvictionDirective] {
        var state = try sequence(id)
        guard layer >= 0, layer < geometry.layers else { throw .layerOutOfRange(layer: layer, layers: geometry.layers) }
        let width = geometry.tokenWidth
        guard !keys.isEmpty, keys.count % width == 0 else {
            throw .shapeMismatch(what: "keys", expected: max(1, keys.count / width) * width, actual: keys.count)
        }
        guard values.count == keys.count else {
            throw .shapeMismatch(what: "values", expected: keys.count, actual: values.count)
        }
        let tokens = keys.count / width
        let start = state.layerLengths[layer]
        let end = start + tokens
        let pageSize = geometry.pageSize
        let pagesNeeded = geometry.pagesNeeded(forTokens: end)
        var sharedIndices: [Int] = []
        for index in start / pageSize..<min(state.pages.count, pagesNeeded)
        where try allocator.referenceCount(of: state.pages[index]) > 1 {
            sharedIndices.append(index)
        }
        let newPages = max(0, pagesNeeded - state.pages.count)
        try reserve(sharedIndices.count + newPages)

        var directives: [EvictionDirective] = []
        for index in sharedIndices {
            let copy = try obtainPage(&directives)
            try store.copyPage(from: state.pages[index], to: copy)
            try releasePage(state.pages[index])
            state.pages[index] = copy
        }
        for _ in 0..<newPages { state.pages.append(try obtainPage(&directives)) }
        for token in 0..<tokens {
            let position = start + token
            let range = token * width..<(token + 1) * width
            try store.write(
                layer: layer,
                page: state.pages[position / pageSize],
                slot: position % pageSize,
                keys: keys[range],
                values: values[range]
            )
        }
        state.layerLengths[layer] = end
        sequences[id] = state
        return directives
    }

    /// Shortens a sequence to `length` tokens in every layer (a speculative verify's rejection),
    /// releasing the pages no longer needed. `length` must not exceed the sequence's `length`.
    public mutating func truncate(_ id: SequenceID, to length: Int) throws(StorageError) {
        var state = try sequence(id)
        guard length >= 0, length <= state.length else {
            throw .truncateBeyondLength(id, requested: length, length: state.length)
        }
        let keep = geometry.pagesNeeded(forTokens: length)
        for page in state.pages[keep...] { try releasePage(page) }
        state.pages.removeSubrange(keep...)
        state.layerLengths = [Int](repeating: length, count: geometry.layers)
        sequences[id] = state
    }

    /// Registers the sequence's leading full pages in the prefix cache under `pageKeys` (one key
    /// per full page, in order; fewer is fine). A page or key already cached is left as it is.
    /// The sequence stays open.
    public mutating func commit(_ id: SequenceID, pageKeys: [PrefixKey]) throws(StorageError) {
        let state = try sequence(id)
        let fullPages = state.length / geometry.pageSize
        guard pageKeys.count <= fullPages else {
            throw .tooManyPageKeys(id, keys: pageKeys.count, fullPages: fullPages)
        }
        for (index, key) in pageKeys.enumerated() {
            let page = state.pages[index]
            guard cache.key(of: page) == nil, cache.page(for: key) == nil else { continue }
            try allocator.retain(page)
            cache.insert(key: key, page: page, isIdle: false)
        }
    }

    /// Closes a sequence, releasing its pages; cached ones that nobody else uses become evictable.
    public mutating func free(_ id: SequenceID) throws(StorageError) {
        let state = try sequence(id)
        for page in state.pages { try releasePage(page) }
        sequences[id] = nil
    }

    /// Opens sequence `id` on copies of another worker's pages (a shard handed over during a
    /// drain): `pages` are the block table's pages in the canonical layout, in order, and
    /// `layerLengths` the tokens each layer holds. Every page is validated and room is checked
    /// before anything changes; the pages are the sequence's own (not cached). Throws
    /// `.sequenceExists`, `.capacity`, or a validation error.
    public mutating func adopt(
        _ id: SequenceID,
        pages: [[UInt8]],
        layerLengths: [Int]
    ) throws(StorageError) -> [EvictionDirective] {
        guard sequences[id] == nil else { throw .sequenceExists(id) }
        guard layerLengths.count == geometry.layers else {
            throw .shapeMismatch(what: "layer lengths", expected: geometry.layers, actual: layerLengths.count)
        }
        let longest = layerLengths.max() ?? 0
        guard layerLengths.allSatisfy({ $0 >= 0 }), geometry.pagesNeeded(forTokens: longest) <= pages.count else {
            throw .shapeMismatch(
                what: "adopted pages",
                expected: geometry.pagesNeeded(forTokens: max(0, longest)),
                actual: pages.count
            )
        }
        for bytes in pages { try store.validatePage(bytes) }
        try reserve(pages.count)
        var directives: [EvictionDirective] = []
        var table: [Int] = []
        table.reserveCapacity(pages.count)
        for bytes in pages {
            let page = try obtainPage(&directives)
            try store.importPage(bytes, into: page)
            table.append(page)
        }
        var state = SequenceState(id: id, pages: table, layers: geometry.layers, cachedTokens: 0)
        state.layerLengths = layerLengths
        sequences[id] = state
        return directives
    }

    /// The canonical bytes of page `index` of sequence `id`'s block table (a shard handed over).
    public func exportPage(of id: SequenceID, at index: Int) throws(StorageError) -> [UInt8] {
        let state = try sequence(id)
        guard state.pages.indices.contains(index) else {
            throw .shapeMismatch(what: "exported page index", expected: state.pages.count, actual: index)
        }
        return try store.exportPage(state.pages[index])
    }

    /// Brings a page into the hot cache under `key` from elsewhere (a lower tier, a peer), as an
    /// idle cached page. `bytes` is the page in the canonical layout and is validated before
    /// anything changes. A key already hot is left as it is; a key held below comes back without a
    /// stored event (it never left the worker).
    public mutating func admit(key: PrefixKey, pageBytes bytes: [UInt8]) throws(StorageError) -> [EvictionDirective] {
        guard cache.page(for: key) == nil else { return [] }
        try store.validatePage(bytes)
        try reserve(1)
        var directives: [EvictionDirective] = []
        let page = try obtainPage(&directives)
        try store.importPage(bytes, into: page)
        cache.insert(key: key, page: page, isIdle: true)
        return directives
    }

    /// The bytes of the page cached under `key` in the canonical layout, or nil when it is not hot.
    public func cachedPage(key: PrefixKey) throws(StorageError) -> [UInt8]? {
        guard let page = cache.page(for: key) else { return nil }
        return try store.exportPage(page)
    }

    /// Removes `key` from the worker's cache (hot or below), recording a removed event. A hot page is
    /// freed at once, or when the last live sequence using it lets go; the caller removes the key
    /// from the lower tiers. Returns whether the key was held.
    public mutating func removeCached(key: PrefixKey) throws(StorageError) -> Bool {
        let wasBelow = cache.lowerTierKeys.contains(key)
        guard let page = cache.remove(key: key) else { return wasBelow }
        try allocator.release(page)
        return true
    }

    /// Records keys the lower tiers already hold when the worker starts (a rebuilt disk tier) as held,
    /// without events, so that losing them later is announced.
    public mutating func lowerTiersHold(keys: [PrefixKey]) {
        cache.holdBelow(keys: keys)
    }

    /// Records that the lower tiers lost `keys` (dropped or unreadable): each one not hot left the
    /// worker (a removed event).
    public mutating func lowerTiersLost(keys: [PrefixKey]) {
        for key in keys { cache.lowerTierLost(key: key) }
    }

    /// Returns the prefix cache's stored/removed events since the last call, oldest first.
    public mutating func takeEvents() -> [PrefixCacheChange] {
        cache.takeEvents()
    }

    /// The next id of this manager's counter that no live sequence has (ids given by callers may
    /// have taken some).
    private mutating func unusedID() -> SequenceID {
        while sequences[SequenceID(rawValue: nextSequenceID)] != nil { nextSequenceID &+= 1 }
        let id = SequenceID(rawValue: nextSequenceID)
        nextSequenceID &+= 1
        return id
    }

    /// Throws `.capacity` unless `count` pages are free or can be freed by eviction.
    private func reserve(_ count: Int) throws(StorageError) {
        let available = allocator.freeCount + cache.idleCount
        guard count <= available else { throw .capacity(needed: count, available: available) }
    }

    /// A page with one reference, evicting the least recently used idle cached page if none is free.
    private mutating func obtainPage(_ directives: inout [EvictionDirective]) throws(StorageError) -> Int {
        if allocator.freeCount == 0, let (key, page) = cache.evictionCandidate {
            switch evictionPolicy {
            case .drop:
                directives.append(.drop(key: key))
                cache.remove(key: key)
            case .demote:
                directives.append(.demote(key: key, bytes: try store.exportPage(page)))
                cache.demote(key: key)
            }
            try allocator.release(page)
        }
        return try allocator.allocate()
    }

    /// Drops one reference; a cached page left with only the cache's reference becomes idle.
    private mutating func releasePage(_ page: Int) throws(StorageError) {
        let freed = try allocator.release(page)
        if !freed, cache.key(of: page) != nil, try allocator.referenceCount(of: page) == 1 {
            cache.setIdle(page, true)
        }
    }
}

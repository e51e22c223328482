/// Hands out page ids of a fixed pool and counts the references to each.
///
/// A page is free (on the free list, zero references) or allocated (one or more references).
/// `allocate` returns a free page with one reference; `retain` adds one; `release` drops one and
/// returns the page to the free list when none is left. Misuse is a typed error, never a trap.
public struct PageAllocator: Sendable {
    /// Pages in the pool.
    public let pageCount: Int
    private var referenceCounts: [Int]
    private var freeList: [Int]

    /// A pool of `pageCount` free pages; the lowest ids are handed out first.
    public init(pageCount: Int) throws(StorageError) {
        guard pageCount > 0 else { throw .invalidPageCount(pageCount) }
        self.pageCount = pageCount
        referenceCounts = [Int](repeating: 0, count: pageCount)
        freeList = Array((0..<pageCount).reversed())
    }

    /// Pages on the free list.
    public var freeCount: Int { freeList.count }

    /// References currently held on `page` (0 when it is free).
    public func referenceCount(of page: Int) throws(StorageError) -> Int {
        try check(page)
        return referenceCounts[page]
    }

    /// Takes a free page and gives it one reference; throws `.capacity` when none is free.
    public mutating func allocate() throws(StorageError) -> Int {
        guard let page = freeList.popLast() else { throw .capacity(needed: 1, available: 0) }
        referenceCounts[page] = 1
        return page
    }

    /// Adds a reference to an allocated page; a free page is `.pageNotAllocated`.
    public mutating func retain(_ page: Int) throws(StorageError) {
        try check(page)
        guard referenceCounts[page] > 0 else { throw .pageNotAllocated(page: page) }
        referenceCounts[page] += 1
    }

    /// Drops a reference; returns true when it was the last one and the page went back to the free
    /// list. Releasing a free page is `.doubleRelease`.
    @discardableResult
    public mutating func release(_ page: Int) throws(StorageError) -> Bool {
        try check(page)
        guard referenceCounts[page] > 0 else { throw .doubleRelease(page: page) }
        referenceCounts[page] -= 1
        guard referenceCounts[page] == 0 else { return false }
        freeList.append(page)
        return true
    }

    private func check(_ page: Int) throws(StorageError) {
        guard page >= 0, page < pageCount else { throw .unknownPage(page: page, pageCount: pageCount) }
    }
}

/// A least-recently-used order over page ids of a fixed pool: insert at the most recent end, remove
/// any page, and read the least recent, each in O(1).
///
/// It is an intrusive doubly linked list threaded through two arrays indexed by page id, so it
/// allocates nothing after `init` (page ids are dense, so no hashing is needed either).
struct PageLRU: Sendable {
    private static let none = -1
    private var previous: [Int]
    private var next: [Int]
    private var member: [Bool]
    private var head = PageLRU.none
    private var tail = PageLRU.none
    /// Pages in the order.
    private(set) var count = 0

    /// An empty order over page ids `0..<pageCount`.
    init(pageCount: Int) {
        previous = [Int](repeating: Self.none, count: pageCount)
        next = [Int](repeating: Self.none, count: pageCount)
        member = [Bool](repeating: false, count: pageCount)
    }

    /// Whether `page` is in the order. The caller guarantees `page` is a valid id.
    func contains(_ page: Int) -> Bool { member[page] }

    /// The least recently inserted page, if any.
    var leastRecent: Int? { head == Self.none ? nil : head }

    /// Pages from least to most recent.
    var pagesInOrder: [Int] {
        var out: [Int] = []
        var page = head
        while page != Self.none {
            out.append(page)
            page = next[page]
        }
        return out
    }

    /// Puts `page` at the most recent end, moving it there if it is already in the order.
    mutating func insertMostRecent(_ page: Int) {
        remove(page)
        member[page] = true
        previous[page] = tail
        next[page] = Self.none
        if tail != Self.none { next[tail] = page } else { head = page }
        tail = page
        count += 1
    }

    /// Takes `page` out of the order; does nothing if it is not in it.
    mutating func remove(_ page: Int) {
        guard member[page] else { return }
        let before = previous[page]
        let after = next[page]
        if before != Self.none { next[before] = after } else { head = after }
        if after != Self.none { previous[after] = before } else { tail = before }
        member[page] = false
        previous[page] = Self.none
        next[page] = Self.none
        count -= 1
    }
}

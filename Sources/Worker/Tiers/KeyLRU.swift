/// A least-recently-used order over keys: insert at the most recent end, remove any key, and read
/// the least recent, each in O(1) (a doubly linked list threaded through a dictionary).
struct KeyLRU<Key: Hashable & Sendable>: Sendable {
    private struct Links: Sendable {
        var previous: Key?
        var next: Key?
    }

    private var links: [Key: Links] = [:]
    private var head: Key?
    private var tail: Key?

    /// An empty order.
    init() {}

    /// The least recently used key, if any.
    var leastRecent: Key? { head }

    /// Keys from least to most recently used.
    var keysInOrder: [Key] {
        var out: [Key] = []
        out.reserveCapacity(links.count)
        var key = head
        while let current = key {
            out.append(current)
            key = links[current]?.next
        }
        return out
    }

    /// Puts `key` at the most recent end, moving it there if it is already in the order.
    mutating func touch(_ key: Key) {
        remove(key)
        links[key] = Links(previous: tail, next: nil)
        if let last = tail { links[last]?.next = key } else { head = key }
        tail = key
    }

    /// Takes `key` out of the order; does nothing if it is not in it.
    mutating func remove(_ key: Key) {
        guard let entry = links.removeValue(forKey: key) else { return }
        if let before = entry.previous { links[before]?.next = entry.next } else { head = entry.next }
        if let after = entry.next { links[after]?.previous = entry.previous } else { tail = entry.previous }
    }
}

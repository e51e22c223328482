/// Small ids for the namespaces `PrefixKeyCache` has seen, so that each cached page records its
/// namespace in 4 bytes and compares it exactly. An id is never given to two namespaces while a
/// page may still carry it: when the table is full it forgets every name but keeps counting (the
/// pages of forgotten ids can no longer be found and age out), and only when the 32-bit ids run
/// out does it start again at 1, telling the cache to drop every page.
struct NamespaceTable: Sendable {
    /// Names remembered at most: 4096 names of at most `WireLimits.maxNamespaceBytes` (256) bytes
    /// each are about 1.5 MiB at most, and a cluster with more active tenants than that only loses
    /// the hits of a tenant's first prompt after a reset.
    static let maxNames = 4096

    private var ids: [String: UInt32] = [:]
    private var lastID: UInt32 = 0
    private let maxNames: Int

    /// An empty table remembering at most `maxNames` names.
    init(maxNames: Int = Self.maxNames) {
        self.maxNames = max(1, maxNames)
    }

    /// The id of `namespace`, and whether the ids started again (every id given before is void).
    mutating func id(of namespace: String) -> (id: UInt32, restarted: Bool) {
        if let id = ids[namespace] { return (id, false) }
        var restarted = false
        if lastID == .max {
            lastID = 0
            ids.removeAll()
            restarted = true
        } else if ids.count >= maxNames {
            ids.removeAll()
        }
        lastID += 1
        ids[namespace] = lastID
        return (lastID, restarted)
    }
}

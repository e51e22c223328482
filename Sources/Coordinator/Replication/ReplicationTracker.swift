import CacheProtocol

/// What replication keeps between inputs: the pulls in flight by key (so that a page is not
/// pulled again while a pull that would give it its replicas is under way) and the backlog of
/// keys to look at again, a bounded number per tick (pages whose holder's run ended, pages a
/// snapshot brought, pages whose pull was cut short by a worker's end).
struct ReplicationTracker: Sendable {
    /// The target slots each key is being pulled to.
    private var targetsInFlight: [PrefixKey: [Int]] = [:]
    /// Keys waiting to be looked at, from `backlogStart` on.
    private var backlog: [PrefixKey] = []
    private var backlogStart = 0
    /// (key, target) pulls in flight.
    private(set) var keysInFlight = 0

    /// Nothing in flight, nothing waiting.
    init() {}

    /// The slots `key` is being pulled to.
    func targets(of key: PrefixKey) -> [Int] {
        targetsInFlight[key] ?? []
    }

    /// Records that `pull` was sent.
    mutating func started(_ pull: ReplicationPull) {
        for key in pull.keys {
            targetsInFlight[key, default: []].append(pull.targetSlot)
        }
        keysInFlight += pull.keys.count
    }

    /// Records that `pull` was answered or given up.
    mutating func finished(_ pull: ReplicationPull) {
        for key in pull.keys {
            guard var targets = targetsInFlight[key], let index = targets.firstIndex(of: pull.targetSlot) else {
                continue
            }
            targets.remove(at: index)
            targetsInFlight[key] = targets.isEmpty ? nil : targets
            keysInFlight -= 1
        }
    }

    /// Keys waiting in the backlog.
    var backlogCount: Int { backlog.count - backlogStart }

    /// Adds `keys` to the backlog as far as it holds fewer than `limit`; returns how many did not
    /// fit.
    mutating func enqueue(_ keys: some Collection<PrefixKey>, limit: Int) -> Int {
        let room = max(0, limit - backlogCount)
        backlog.append(contentsOf: keys.prefix(room))
        return max(0, keys.count - room)
    }

    /// Takes up to `count` keys from the front of the backlog.
    mutating func dequeue(upTo count: Int) -> [PrefixKey] {
        let end = min(backlog.count, backlogStart + max(0, count))
        let taken = Array(backlog[backlogStart..<end])
        backlogStart = end
        if backlogStart == backlog.count {
            backlog.removeAll(keepingCapacity: backlog.count <= 4096)
            backlogStart = 0
        } else if backlogStart >= 65_536, backlogStart * 2 >= backlog.count {
            backlog.removeSubrange(0..<backlogStart)
            backlogStart = 0
        }
        return taken
    }
}

import CacheProtocol

/// Cache events: the changes of the set of held keys, numbered in the call that made them.
extension WorkerInstance {
    /// The lower tiers dropped `keys` while the shell performed a directive (a demotion pushed them
    /// past the last tier, a durable copy made room): each one that is not hot has left the worker.
    /// Returns the `removed` events, numbered now.
    mutating func lowerTiersLost(_ keys: [PrefixKey]) -> [WorkerDirective] {
        manager.lowerTiersLost(keys: keys)
        return finish([], [])
    }

    /// Takes the keys the lower tiers hold before serving starts (a disk tier rebuilt from its data
    /// directory) as held, without events: the coordinator learns them by snapshot, and their later
    /// loss is announced.
    mutating func adoptLowerTierKeys(_ keys: [PrefixKey]) {
        manager.lowerTiersHold(keys: keys)
        held.formUnion(keys)
    }

    /// Turns the hot cache's changes since the last call into changes of the held key set, numbered
    /// from `lastEvent` on and grouped by kind (at most `WireLimits.maxKeysPerRequest` keys an event).
    /// A key stored again while held, or removed while it is still hot or below, is no change.
    mutating func takeEvents() -> [CacheEvent] {
        var events: [CacheEvent] = []
        for change in manager.takeEvents() {
            let key = change.key
            let kind: CacheEvent.Kind
            switch change.kind {
            case .stored:
                guard held.insert(key).inserted else { continue }
                kind = .stored
            case .removed:
                guard !isHot(key), !manager.cache.lowerTierKeys.contains(key), held.remove(key) != nil else { continue }
                kind = .removed
            }
            if let last = events.last, last.kind == kind, last.keys.count < WireLimits.maxKeysPerRequest {
                events[events.count - 1].keys.append(key)
            } else {
                lastEvent += 1
                events.append(CacheEvent(workerID: workerID, eventSequence: lastEvent, kind: kind, keys: [key]))
            }
        }
        return events
    }
}

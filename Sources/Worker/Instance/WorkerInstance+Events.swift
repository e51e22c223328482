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
        for key in keys where !isHot(key) {
            held.insert(key)
            heldBelow.insert(key)
        }
    }

    /// Turns the hot cache's changes since the last call into numbered events, from `lastEvent` on,
    /// consecutive changes of one kind grouped (at most `WireLimits.maxKeysPerRequest` keys an
    /// event): keys entering the worker (`stored`), leaving it (`removed`, only once neither hot nor
    /// below), and held keys moving down to `demotionTier` or back hot (tier events). A key stored
    /// again while held, or removed while it is still hot or below, is no change.
    mutating func takeEvents() -> [NumberedCacheEvent] {
        var events: [NumberedCacheEvent] = []
        for change in manager.takeEvents() {
            let key = change.key
            let group: EventGroup
            switch change.kind {
            case .stored, .promoted:
                if held.insert(key).inserted {
                    heldBelow.remove(key)
                    group = .stored
                } else if heldBelow.remove(key) != nil {
                    group = .tier(.hot)
                } else {
                    continue
                }
            case .demoted:
                guard held.contains(key), demotionTier != .hot, heldBelow.insert(key).inserted else { continue }
                group = .tier(demotionTier)
            case .removed:
                guard !isHot(key), !manager.cache.lowerTierKeys.contains(key), held.remove(key) != nil else { continue }
                heldBelow.remove(key)
                group = .removed
            }
            if let last = events.last, EventGroup(last) == group, last.keys.count < WireLimits.maxKeysPerRequest {
                events[events.count - 1] = last.adding(key)
            } else {
                lastEvent += 1
                events.append(group.event(workerID: workerID, eventSequence: lastEvent, keys: [key]))
            }
        }
        return events
    }
}

/// The kind of a numbered event, by which consecutive changes are grouped.
private enum EventGroup: Equatable {
    case stored
    case removed
    case tier(CacheTier)

    init(_ event: NumberedCacheEvent) {
        switch event {
        case .held(let event): self = event.kind == .stored ? .stored : .removed
        case .tier(let event): self = .tier(event.tier)
        }
    }

    func event(workerID: UInt64, eventSequence: UInt64, keys: [PrefixKey]) -> NumberedCacheEvent {
        switch self {
        case .stored: .held(CacheEvent(workerID: workerID, eventSequence: eventSequence, kind: .stored, keys: keys))
        case .removed: .held(CacheEvent(workerID: workerID, eventSequence: eventSequence, kind: .removed, keys: keys))
        case .tier(let tier):
            .tier(CacheTierEvent(workerID: workerID, eventSequence: eventSequence, tier: tier, keys: keys))
        }
    }
}

extension NumberedCacheEvent {
    /// The same event with `key` added.
    fileprivate func adding(_ key: PrefixKey) -> NumberedCacheEvent {
        switch self {
        case .held(var event):
            event.keys.append(key)
            return .held(event)
        case .tier(var event):
            event.keys.append(key)
            return .tier(event)
        }
    }
}

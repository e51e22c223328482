import CacheProtocol

/// Replication (`configuration.replicas` > 1): every prefix page should be held by `replicas`
/// workers. When a page has fewer holders, live compute workers that do not hold it pull it from a
/// holder with `PullPages`; the index learns each new copy from the target's own `CacheEvent`.
///
/// - A stored event's keys are looked at when it is applied, and pulled at once from the worker
///   that sent it: one `PullPages` per target for the whole event.
/// - Keys whose holder's run ended, keys a snapshot brought, and keys whose pull ended with the
///   run of its source or target wait in a backlog, looked at `replicationKeysPerTick` per tick
///   while fewer than `replicationKeysInFlight` keys are being pulled.
/// - A pull in flight counts as a holder, so a key is not pulled again while one is under way.
///   A pull refused, lost or timed out is counted and dropped, never sent again by itself (only
///   the end of a worker's run puts its keys back in the backlog).
extension CoordinatorInstance {
    /// Gives `keys` their missing replicas, pulling each from `holder` when it holds it, else from
    /// another holder. Keys with `replicas` holders (pulls in flight included) or none are left
    /// alone. Targets are live compute workers not holding the key, with room, least decode load
    /// first (then fewest indexed pages, then lowest id); the pulls are batched per (source,
    /// target), in `keys`' order.
    mutating func replicate(
        _ keys: some Collection<PrefixKey>,
        from holder: Int?,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        let replicas = configuration.replicas
        guard replicas > 1, !keys.isEmpty else { return }
        var targets: [Int]?
        var assigned: [Int: Int] = [:]
        var batches: [ReplicationBatch: [PrefixKey]] = [:]
        var order: [ReplicationBatch] = []
        for key in keys {
            let holders = index.holders(of: key).map(\.slot)
            guard !holders.isEmpty else { continue }
            var have = Set(holders)
            have.formUnion(replication.targets(of: key))
            guard have.count < replicas else { continue }
            let source =
                holder.flatMap { holders.contains($0) ? $0 : nil }
                ?? holders.first { registry[$0].state.isRoutable }
            guard let source else { continue }
            if targets == nil { targets = replicationTargets() }
            for target in targets ?? [] where have.count < replicas && !have.contains(target) {
                guard registry[target].roomPages > assigned[target, default: 0] else { continue }
                assigned[target, default: 0] += 1
                have.insert(target)
                let batch = ReplicationBatch(source: source, target: target)
                if batches[batch] == nil { order.append(batch) }
                batches[batch, default: []].append(key)
            }
        }
        for batch in order {
            guard let keys = batches[batch] else { continue }
            for start in stride(from: 0, to: keys.count, by: WireLimits.maxKeysPerRequest) {
                let part = Array(keys[start..<min(keys.count, start + WireLimits.maxKeysPerRequest)])
                sendReplicationPull(part, batch: batch, at: now, into: &out)
            }
        }
    }

    /// The slots replicas may go to: live compute workers, least decode load first, then fewest
    /// indexed pages (so that replicas spread), then lowest id.
    private func replicationTargets() -> [Int] {
        let pageSize = configuration.spec.pageSize
        let unreported = configuration.weights.unreportedSequenceTokens
        return registry.records.indices.filter { registry[$0].takesSequences }.map { slot in
            (
                slot: slot,
                load: registry[slot].decodeLoadTokens(pageSize: pageSize, unreportedSequenceTokens: unreported),
                pages: index.pages(of: slot),
                id: registry[slot].id.rawValue
            )
        }.sorted { ($0.load, $0.pages, $0.id) < ($1.load, $1.pages, $1.id) }.map(\.slot)
    }

    private mutating func sendReplicationPull(
        _ keys: [PrefixKey],
        batch: ReplicationBatch,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        let source = PullSource(slot: batch.source, worker: registry[batch.source].id, pages: keys.count)
        let target = registry[batch.target].id
        let pull = ReplicationPull(source: source, targetSlot: batch.target, target: target, keys: keys)
        let id = pending.issue(
            to: target,
            purpose: .replication(pull),
            deadline: now.advanced(by: configuration.replicationPullTimeout(keys: keys.count))
        )
        replication.started(pull)
        registry[batch.target].placedSinceHeartbeat += keys.count
        counters.replicationPulls += 1
        out.append(.sendToWorker(target, Envelope(requestID: id, message: pullPages(keys, from: batch.source))))
    }

    /// A replication pull's outcome: pages pulled and pages not are counted. A pull cut short by
    /// the end of its source's or target's run puts its keys back in the backlog (another holder
    /// or target may take over); any other failure is dropped.
    mutating func replicationAnswered(
        _ pull: ReplicationPull,
        _ outcome: PartOutcome,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        replication.finished(pull)
        let pulled: Int
        let reason: String?
        switch outcome {
        case .answered(.pullPagesReply(let reply)) where reply.pulled.count == pull.keys.count:
            pulled = reply.pulled.filter { $0 }.count
            reason = pulled == pull.keys.count ? nil : "\(pull.keys.count - pulled) pages were not pulled"
        case .answered(let other):
            pulled = 0
            reason = "the worker answered \(other.type)"
        case .refused(let error):
            pulled = 0
            reason = error.description
        case .lost(let why):
            pulled = 0
            reason = why
        }
        counters.replicationPages += UInt64(pulled)
        guard let reason else { return }
        counters.replicationFailed += UInt64(pull.keys.count - pulled)
        out.append(
            .notice(
                .replicationFailed(
                    pull.target,
                    from: pull.source.worker,
                    pages: pull.keys.count - pulled,
                    reason: reason
                )
            )
        )
        if !registry[pull.source.slot].state.isRoutable || !registry[pull.targetSlot].state.isRoutable {
            enqueueReplication(pull.keys)
        }
    }

    /// Adds `keys` to the re-replication backlog (as far as `replicationBacklogKeys` allows).
    mutating func enqueueReplication(_ keys: some Collection<PrefixKey>) {
        guard configuration.replicas > 1, !keys.isEmpty else { return }
        let dropped = replication.enqueue(keys, limit: configuration.replicationBacklogKeys)
        counters.replicationDropped += UInt64(dropped)
    }

    /// A tick's share of the backlog: at most `replicationKeysPerTick` keys, and none while
    /// `replicationKeysInFlight` keys are being pulled.
    mutating func replicateBacklog(at now: MonotonicInstant, into out: inout [CoordinatorDirective]) {
        guard replication.backlogCount > 0 else { return }
        let room = configuration.replicationKeysInFlight - replication.keysInFlight
        let keys = replication.dequeue(upTo: min(configuration.replicationKeysPerTick, room))
        replicate(keys, from: nil, at: now, into: &out)
    }
}

import CacheProtocol

/// The registration connection: RegisterWorker, Heartbeat, CacheEvent, DeregisterWorker, and the
/// snapshots that keep the prefix index exact.
extension CoordinatorInstance {
    /// RegisterWorker: refused for another model, an empty endpoint or a full registry; otherwise
    /// accepted with the cluster's spec (and, for a worker of minor version 1 or later, the
    /// heartbeat terms: `RegisterWorkerAccepted`), connected, and asked for a snapshot and (minor
    /// version 1 or later) its open shards. A worker that was still live registering on another
    /// connection is a new run (a restarted process): its previous run ends first (sequences
    /// failed, requests answered); on the same connection it is a repeated registration whose
    /// answer had not reached it, answered again with nothing else changed.
    mutating func register(
        _ body: RegisterWorker,
        link: RoutingIdentity,
        requestID: UInt64,
        workerMinorVersion: UInt8,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        let id = WorkerID(body.workerID)
        func refuse(_ reason: String) {
            out.append(
                .answerWorkerLink(
                    link,
                    Envelope(
                        requestID: requestID,
                        message: .registerWorkerReply(RegisterWorkerReply(outcome: .refused(reason: reason)))
                    )
                )
            )
            out.append(.notice(.workerRefused(id, reason: reason)))
        }
        guard body.modelFingerprint == fingerprint else {
            // A live worker registering with another model has restarted: its previous run is over.
            if let known = registry.slot(of: id), registry[known].state.isRoutable {
                endRun(
                    known,
                    becoming: .left,
                    reason: "it registered again with another model",
                    died: false,
                    at: now,
                    into: &out
                )
            }
            refuse(
                "the worker's model fingerprint \(body.modelFingerprint) is not the cluster's \(fingerprint) (\(configuration.spec))"
            )
            return
        }
        guard !body.endpoint.isEmpty else {
            refuse("the registration names no endpoint")
            return
        }
        if let known = registry.slot(of: id), registry[known].state.isRoutable, registry[known].link == link,
            registry[known].endpoint == body.endpoint
        {
            // The same connection again: the worker repeated a registration whose answer had not
            // reached it yet. The same run: answered again, nothing else changes.
            out.append(
                .answerWorkerLink(
                    link,
                    Envelope(requestID: requestID, message: acceptance(workerMinorVersion: workerMinorVersion))
                )
            )
            return
        }
        var newRun = false
        let slot: Int
        if let known = registry.slot(of: id) {
            slot = known
            if registry[slot].state.isRoutable {
                newRun = true
                endRun(
                    slot,
                    becoming: .dead(since: now),
                    reason: "it registered again",
                    died: false,
                    at: now,
                    into: &out
                )
            }
            registry[slot].restart(registration: body, link: link, at: now)
        } else {
            guard registry.count < min(configuration.maxWorkers, HolderCell.maxSlot + 1) else {
                refuse("the cluster has its maximum of \(registry.count) workers")
                return
            }
            let limit = configuration.snapshotBufferKeys
            slot = registry.add {
                WorkerRecord(id: id, slot: $0, registration: body, link: link, at: now, eventBufferLimit: limit)
            }
        }
        out.append(
            .answerWorkerLink(
                link,
                Envelope(requestID: requestID, message: acceptance(workerMinorVersion: workerMinorVersion))
            )
        )
        out.append(.connectWorker(id, endpoint: body.endpoint))
        out.append(.notice(.workerRegistered(id, endpoint: body.endpoint, newRun: newRun)))
        requestSnapshot(slot, reason: .registered, at: now, into: &out)
        // A worker of minor version 0 does not know ShardListRequest: its shards stay unknown.
        if workerMinorVersion >= 1 { requestShardList(slot, at: now, into: &out) }
    }

    /// The acceptance a worker of `workerMinorVersion` understands: `RegisterWorkerAccepted` with
    /// the heartbeat terms from 1.1 on, `RegisterWorkerReply.accepted` before.
    private func acceptance(workerMinorVersion: UInt8) -> Message {
        guard workerMinorVersion >= 1 else {
            return .registerWorkerReply(RegisterWorkerReply(outcome: .accepted(configuration.spec)))
        }
        return .registerWorkerAccepted(
            RegisterWorkerAccepted(
                spec: configuration.spec,
                heartbeatMilliseconds: configuration.heartbeatMillisecondsOnTheWire,
                deadAfterHeartbeats: UInt32(clamping: max(1, configuration.deadAfterHeartbeats))
            )
        )
    }

    /// Heartbeat or HeartbeatReport: `notRegistered` unless the worker is live or draining;
    /// otherwise its figures (`load`) are taken, its silence clock restarts, and a last event
    /// number other than the last applied calls for a snapshot.
    mutating func heartbeat(
        _ body: Heartbeat,
        load: ReportedLoad,
        link: RoutingIdentity,
        requestID: UInt64,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        guard let slot = registry.slot(of: WorkerID(body.workerID)), registry[slot].state.isRoutable else {
            let error = ErrorReply(
                code: .notRegistered,
                message: "worker \(body.workerID) is not registered here; register again"
            )
            out.append(.answerWorkerLink(link, Envelope(requestID: requestID, message: .errorReply(error))))
            return
        }
        registry[slot].reported = load
        registry[slot].lastHeard = now
        registry[slot].placedSinceHeartbeat = 0
        registry[slot].link = link
        out.append(.answerWorkerLink(link, Envelope(requestID: requestID, message: .ack(Ack()))))
        if let reason = registry[eventsOf: slot].heartbeat(lastEventSequence: body.lastEventSequence) {
            requestSnapshot(slot, reason: reason, at: now, into: &out)
        } else if registry[eventsOf: slot].snapshot == .needed {
            requestSnapshot(slot, reason: .retry, at: now, into: &out)
        }
    }

    /// CacheEvent: applied in number order; a gap asks for a snapshot. Events of unknown, dead or
    /// departed workers are dropped (their next registration brings a snapshot).
    mutating func cacheEvent(
        _ event: NumberedCacheEvent,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        guard let slot = registry.slot(of: WorkerID(event.workerID)), registry[slot].state.isRoutable else { return }
        switch registry[eventsOf: slot].receive(event) {
        case .apply:
            apply(event, slot: slot, at: now, into: &out)
        case .stale:
            counters.eventsStale += 1
        case .buffered:
            break
        case .gap(let expected):
            counters.eventGaps += 1
            requestSnapshot(
                slot,
                reason: .eventGap(expected: expected, received: event.eventSequence),
                at: now,
                into: &out
            )
        }
    }

    /// Applies one event's keys to the index (a stored page is hot until a tier event moves it); the
    /// stored keys that have fewer than `replicas` holders are pulled from this worker by others.
    mutating func apply(
        _ event: NumberedCacheEvent,
        slot: Int,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        counters.eventsApplied += 1
        switch event {
        case .held(let event) where event.kind == .stored:
            for key in event.keys { index.insert(key, worker: slot, tier: .hot) }
            replicate(event.keys, from: slot, at: now, into: &out)
        case .held(let event):
            for key in event.keys { index.remove(key, worker: slot) }
        case .tier(let event):
            let tier = event.tier
            for key in event.keys { index.insert(key, worker: slot, tier: tier) }
        }
    }

    /// DeregisterWorker: `notRegistered` for an unknown worker; otherwise its run ends (its pages
    /// leave the index, its sequences fail, requests in flight to it are answered `unavailable`)
    /// and it is acknowledged.
    mutating func deregister(
        _ body: DeregisterWorker,
        link: RoutingIdentity,
        requestID: UInt64,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        guard let slot = registry.slot(of: WorkerID(body.workerID)) else {
            let error = ErrorReply(code: .notRegistered, message: "worker \(body.workerID) is not registered here")
            out.append(.answerWorkerLink(link, Envelope(requestID: requestID, message: .errorReply(error))))
            return
        }
        if registry[slot].state.isRoutable {
            endRun(slot, becoming: .left, reason: "it deregistered", died: false, at: now, into: &out)
        } else {
            registry[slot].state = .left
        }
        out.append(.answerWorkerLink(link, Envelope(requestID: requestID, message: .ack(Ack()))))
    }

    /// Asks worker `slot` for a snapshot unless one is already awaited.
    mutating func requestSnapshot(
        _ slot: Int,
        reason: SnapshotReason,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        if case .requested = registry[eventsOf: slot].snapshot { return }
        let worker = registry[slot].id
        let id = pending.issue(
            to: worker,
            purpose: .snapshot,
            deadline: now.advanced(by: configuration.snapshotTimeout)
        )
        registry[eventsOf: slot].requested(id)
        counters.snapshotsRequested += 1
        if reason.isResync { counters.resyncs += 1 }
        out.append(.sendToWorker(worker, Envelope(requestID: id, message: .snapshotRequest(SnapshotRequest()))))
        out.append(.notice(.snapshotRequested(worker, reason)))
    }

    /// A snapshot request's outcome: the reply replaces what the index knew of the worker (its keys
    /// join the re-replication backlog) and the events kept meanwhile are applied on top; a failure leaves the snapshot to be asked again
    /// at the next heartbeat.
    mutating func snapshotAnswered(
        _ request: WorkerRequest,
        _ outcome: PartOutcome,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        guard let slot = registry.slot(of: request.worker), registry[slot].state.isRoutable,
            registry[eventsOf: slot].snapshot == .requested(requestID: request.id)
        else { return }
        let reply: TierSnapshotReply
        switch outcome {
        case .answered(.tierSnapshotReply(let answer)):
            reply = answer
        case .answered(.snapshotReply(let answer)):
            reply = TierSnapshotReply(
                workerID: answer.workerID,
                eventSequence: answer.eventSequence,
                keys: answer.keys,
                tiers: [CacheTier](repeating: .hot, count: answer.keys.count)
            )
        default:
            registry[eventsOf: slot].needSnapshot()
            return
        }
        guard reply.workerID == request.worker.rawValue, reply.tiers.count == reply.keys.count else {
            registry[eventsOf: slot].needSnapshot()
            return
        }
        let (stale, _) = index.replace(worker: slot, with: reply.keys, tier: .hot)
        for (key, tier) in zip(reply.keys, reply.tiers) where tier != .hot {
            index.insert(key, worker: slot, tier: tier)
        }
        counters.snapshotsApplied += 1
        out.append(.notice(.snapshotApplied(request.worker, keys: reply.keys.count, staleRemoved: stale)))
        enqueueReplication(reply.keys)
        let (events, broken) = registry[eventsOf: slot].snapshotApplied(eventSequence: reply.eventSequence)
        for event in events { apply(event, slot: slot, at: now, into: &out) }
        if broken { requestSnapshot(slot, reason: .bufferedEventsBroken, at: now, into: &out) }
    }
}

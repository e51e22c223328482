import CacheProtocol

/// The sequence table rebuilt from the workers after a start: every accepted registration asks
/// the worker for its open shards (`ShardListRequest`); during the recovery window the shards of
/// sequences the table does not hold are joined into sequences again (same id, namespace, shards
/// and length) and requests naming unknown sequences are held; outside it, a reported shard the
/// table does not hold is closed on its worker without commit.
extension CoordinatorInstance {
    /// Opens the recovery window at the first input.
    mutating func startRecoveryIfNeeded(at now: MonotonicInstant) {
        guard !recovery.hasStarted else { return }
        recovery.start(at: now, length: configuration.recoveryWindowLength)
    }

    /// Asks worker `slot` for its open shards; within the recovery window the window waits for the
    /// answer (up to `shardListTimeout`).
    mutating func requestShardList(_ slot: Int, at now: MonotonicInstant, into out: inout [CoordinatorDirective]) {
        let worker = registry[slot].id
        let id = pending.issue(
            to: worker,
            purpose: .shardList,
            deadline: now.advanced(by: configuration.shardListTimeout)
        )
        if recovery.isOpen { recovery.awaitedLists.insert(id) }
        out.append(.sendToWorker(worker, Envelope(requestID: id, message: .shardListRequest(ShardListRequest()))))
    }

    /// The sequences a client request names, in its order (none for a request that names none).
    static func sequenceIDs(namedBy message: Message) -> [UInt64] {
        switch message {
        case .prefill(let body): [body.sequenceID]
        case .decode(let body): body.entries.map(\.sequenceID)
        case .truncate(let body): [body.sequenceID]
        case .closeSequence(let body): [body.sequenceID]
        default: []
        }
    }

    /// Holds a client request that names a sequence neither open nor failed while the recovery
    /// window is open, to be routed once its sequences are known (or answered when the window
    /// closes or `deadline` passes); returns whether it was held.
    mutating func holdIfRecovering(
        _ envelope: Envelope,
        client: RoutingIdentity,
        deadline: MonotonicInstant
    ) -> Bool {
        guard recovery.isOpen else { return false }
        let ids = Self.sequenceIDs(namedBy: envelope.message)
        guard ids.contains(where: { sequences[$0] == nil && sequences.failure(of: $0) == nil }) else { return false }
        recovery.held.append(HeldRequest(client: client, envelope: envelope, sequenceIDs: ids, deadline: deadline))
        return true
    }

    /// Routes held requests again, in order (a request still naming an unknown sequence while the
    /// window is open is held again, with its first deadline).
    mutating func replay(_ held: [HeldRequest], at now: MonotonicInstant, into out: inout [CoordinatorDirective]) {
        for request in held {
            route(request.envelope, from: request.client, deadline: request.deadline, at: now, into: &out)
        }
    }

    /// A shard list's outcome. Each reported shard is left alone when the table holds its sequence
    /// with a shard on that worker; kept for recovery while the window is open and its sequence is
    /// neither in the table nor failed; closed without commit otherwise. Sequences whose shards
    /// now join completely are put back in the table.
    mutating func shardListAnswered(
        _ request: WorkerRequest,
        _ outcome: PartOutcome,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        recovery.awaitedLists.remove(request.id)
        defer { closeRecoveryIfDue(at: now, into: &out) }
        guard let slot = registry.slot(of: request.worker), registry[slot].state.isRoutable else { return }
        guard case .answered(.shardListReply(let reply)) = outcome, reply.workerID == request.worker.rawValue else {
            let reason =
                switch outcome {
                case .answered(let message): "it answered \(message.type)"
                case .refused(let error): "it refused: \(error)"
                case .lost(let why): why
                }
            out.append(.notice(.shardListFailed(request.worker, reason: reason)))
            return
        }
        var touched: [UInt64] = []
        for shard in reply.shards {
            let id = shard.sequenceID
            if id < UInt64.max { nextSequenceID = max(nextSequenceID, id + 1) }
            if let record = sequences[id] {
                if !record.hasShard(on: request.worker) { closeStaleShard(id, on: request.worker, at: now, into: &out) }
            } else if recovery.isOpen, sequences.failure(of: id) == nil {
                var shards = recovery.reported[id, default: []]
                shards.removeAll { $0.worker == request.worker }
                shards.append(ReportedShard(worker: request.worker, slot: slot, shard: shard))
                recovery.reported[id] = shards
                touched.append(id)
            } else {
                closeStaleShard(id, on: request.worker, at: now, into: &out)
            }
        }
        for id in touched {
            if case .joined(let record, complete: true) = RecoveredSequence.join(recovery.reported[id] ?? [], id: id) {
                adoptRecovered(record, at: now, into: &out)
            }
        }
    }

    /// Closes sequence `id`'s shard on `worker` without commit: the coordinator does not know it.
    mutating func closeStaleShard(
        _ id: UInt64,
        on worker: WorkerID,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        counters.staleShardsClosed += 1
        out.append(.notice(.staleShardClosed(id, worker: worker)))
        cleanUp(id, on: worker, at: now, into: &out)
    }

    /// Puts a rebuilt sequence back in the table and routes the requests held for it.
    mutating func adoptRecovered(
        _ record: SequenceRecord,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        recovery.reported[record.id] = nil
        sequences[record.id] = record
        account(record, +1)
        counters.sequencesRecovered += 1
        out.append(
            .notice(.sequenceRecovered(record.id, workers: record.shards.map(\.worker), length: record.length))
        )
        replay(recovery.release(naming: [record.id]), at: now, into: &out)
    }

    /// Fails a sequence being recovered: it is remembered as failed (later requests are answered
    /// `unavailable`), its reported shards on routable workers are closed without commit, and the
    /// requests held for it are answered.
    mutating func failRecovering(
        _ id: UInt64,
        reason: String,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        guard let shards = recovery.reported.removeValue(forKey: id) else { return }
        sequences.fail(id, reason: reason)
        counters.sequencesFailed += 1
        out.append(.notice(.sequenceFailed(id, reason: reason)))
        for shard in shards where registry[shard.slot].state.isRoutable {
            cleanUp(id, on: shard.worker, at: now, into: &out)
        }
        replay(recovery.release(naming: [id]), at: now, into: &out)
    }

    /// Worker `worker`'s run ended: every sequence being recovered with a shard on it fails.
    mutating func recoveryLost(
        _ worker: WorkerID,
        reason: String,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        for id in recovery.sequences(on: worker) {
            failRecovering(id, reason: reason, at: now, into: &out)
        }
    }

    /// The recovery window's share of a tick: held requests past their deadline are answered
    /// `unavailable`, and the window closes when due.
    mutating func recoveryTick(at now: MonotonicInstant, into out: inout [CoordinatorDirective]) {
        for request in recovery.releaseOverdue(at: now) {
            refuse(
                .timedOut("the request, held while the coordinator rebuilt its sequences after its start,"),
                client: request.client,
                requestID: request.envelope.requestID,
                into: &out
            )
        }
        closeRecoveryIfDue(at: now, into: &out)
    }

    /// Closes the window when due: every sequence whose shards join is put back in the table (its
    /// tail is the last shard reported), every other fails, and every held request is routed
    /// (a sequence still unknown is now answered `unknownSequence`).
    mutating func closeRecoveryIfDue(at now: MonotonicInstant, into out: inout [CoordinatorDirective]) {
        guard recovery.isDue(at: now) else { return }
        recovery.close()
        var recovered = 0
        var failed = 0
        for id in recovery.reported.keys.sorted() {
            switch RecoveredSequence.join(recovery.reported[id] ?? [], id: id) {
            case .joined(let record, complete: true):
                recovered += 1
                adoptRecovered(record, at: now, into: &out)
            case .joined(let record, complete: false):
                failed += 1
                failRecovering(
                    id,
                    reason:
                        "its shard on worker \(record.tail.worker) ends at \(record.length), where it went on on a worker that did not report",
                    at: now,
                    into: &out
                )
            case .broken(let reason):
                failed += 1
                failRecovering(id, reason: "its shards do not make a sequence: \(reason)", at: now, into: &out)
            }
        }
        let held = recovery.release(naming: nil)
        out.append(.notice(.recoveryEnded(recovered: recovered, failed: failed, heldRequests: held.count)))
        replay(held, at: now, into: &out)
    }
}

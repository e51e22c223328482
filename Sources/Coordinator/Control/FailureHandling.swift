import CacheProtocol

/// Deaths, departures, deadlines and failed sequences: how nothing waits forever.
extension CoordinatorInstance {
    /// The passing of time: workers silent for `silenceLimit` are dead; requests and operations
    /// past their deadline are given up and answered `unavailable`.
    mutating func tick(at now: MonotonicInstant, into out: inout [CoordinatorDirective]) {
        for slot in 0..<registry.count where registry[slot].state.isRoutable {
            if registry[slot].lastHeard.advanced(by: configuration.silenceLimit) <= now {
                endRun(
                    slot,
                    becoming: .dead(since: now),
                    reason: "no heartbeat for \(configuration.silenceLimit)",
                    died: true,
                    at: now,
                    into: &out
                )
            }
        }
        for id in pending.overdueRequests(at: now) {
            guard let request = pending.requests[id], let taken = pending.take(id, from: request.worker) else {
                continue
            }
            if case .cleanup = taken.purpose {
            } else {
                counters.requestsTimedOut += 1
                out.append(.notice(.requestTimedOut(taken.worker, requestID: id)))
            }
            deliver(taken, .lost("worker \(taken.worker) did not answer in time"), at: now, into: &out)
        }
        for id in pending.overdueOperations(at: now) {
            abandon(id, refusal: .timedOut("the request"), at: now, into: &out)
        }
        recoveryTick(at: now, into: &out)
        replicateBacklog(at: now, into: &out)
    }

    /// Ends the current run of worker `slot`: it becomes `state`; its pages leave the index (those
    /// left with fewer than `replicas` holders join the re-replication backlog); its open sequences
    /// fail (their other shards are closed); every request in flight to it is answered as lost at
    /// once, and every operation on a failed sequence is answered `unavailable`; its connection is
    /// closed. Other workers' sequences are untouched.
    mutating func endRun(
        _ slot: Int,
        becoming state: WorkerState,
        reason: String,
        died: Bool,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        let worker = registry[slot].id
        registry[slot].state = state
        if configuration.replicas > 1 {
            enqueueReplication(index.removeAll(worker: slot, returningKeysHeldByFewerThan: configuration.replicas))
        } else {
            index.removeAll(worker: slot)
        }
        let why = "worker \(worker) \(died ? "died" : "left"): \(reason)"
        var failed: [UInt64] = []
        for id in sequences.sequences(on: worker) where sequences[id]?.phase == .open {
            failSequence(id, reason: why, at: now, into: &out)
            failed.append(id)
        }
        recoveryLost(worker, reason: why, at: now, into: &out)
        let inFlight = pending.requests(to: worker)
        for id in inFlight {
            guard let request = pending.take(id, from: worker) else { continue }
            deliver(request, .lost(why), at: now, into: &out)
        }
        let failedSet = Set(failed)
        let touching = pending.operations.values.filter { $0.work.sequenceIDs.contains(where: failedSet.contains) }.map(
            \.id
        ).sorted()
        for id in touching {
            abandon(id, refusal: .workerUnavailable(worker, state: state), at: now, into: &out)
        }
        registry[slot].placedSinceHeartbeat = 0
        out.append(.disconnectWorker(worker))
        if died {
            counters.workerDeaths += 1
            out.append(.notice(.workerDied(worker, failedSequences: failed.count, answeredRequests: inFlight.count)))
        } else {
            out.append(
                .notice(
                    .workerLeft(worker, reason: reason, failedSequences: failed.count, answeredRequests: inFlight.count)
                )
            )
        }
    }

    /// Fails sequence `id`: it leaves the table (remembered as failed, so later requests are
    /// answered `unavailable`), and its shards on routable workers are closed without commit.
    mutating func failSequence(
        _ id: UInt64,
        reason: String,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        guard let record = sequences.fail(id, reason: reason) else { return }
        account(record, -1)
        counters.sequencesFailed += 1
        out.append(.notice(.sequenceFailed(id, reason: reason)))
        for shard in record.shards where registry[shard.slot].state.isRoutable {
            cleanUp(id, on: shard.worker, at: now, into: &out)
        }
    }

    /// Closes sequence `id`'s shard on `worker` without commit; the answer is not awaited by anyone.
    mutating func cleanUp(
        _ id: UInt64,
        on worker: WorkerID,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        sendUnawaited(
            .closeSequence(CloseSequence(sequenceID: id, commit: false)),
            about: id,
            to: worker,
            at: now,
            into: &out
        )
    }

    /// Seals sequence `id`'s shard on `worker` at token `end` (`SealShard`: the sequence goes on
    /// past it on another worker); the answer is not awaited by anyone. A restarted coordinator
    /// reads the seal in the worker's shard list and waits for the shard that follows.
    mutating func seal(
        _ id: UInt64,
        on worker: WorkerID,
        end: Int,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        sendUnawaited(
            .sealShard(SealShard(sequenceID: id, end: UInt32(clamping: end))),
            about: id,
            to: worker,
            at: now,
            into: &out
        )
    }

    /// Sends `message` about sequence `id` to `worker` as a request whose answer nobody awaits
    /// (dropped after `cleanupTimeout`).
    private mutating func sendUnawaited(
        _ message: Message,
        about id: UInt64,
        to worker: WorkerID,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        let request = pending.issue(
            to: worker,
            purpose: .cleanup(sequenceID: id),
            deadline: now.advanced(by: configuration.cleanupTimeout)
        )
        out.append(.sendToWorker(worker, Envelope(requestID: request, message: message)))
    }

    /// Gives up operation `id` before all its answers came: its client is answered with `refusal`,
    /// its outstanding requests are dropped, and every sequence it may have changed without the
    /// client knowing fails.
    mutating func abandon(
        _ id: UInt64,
        refusal: RequestRefusal,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        guard let operation = pending[operation: id] else { return }
        let reason = "a request on it was abandoned: \(refusal.description)"
        switch operation.work {
        case .open(let progress):
            releaseOpen(progress, cleanUp: progress.stage == .opening, at: now, into: &out)
        case .prefill(let progress):
            failSequence(progress.sequenceID, reason: reason, at: now, into: &out)
        case .decode(let progress):
            if let spill = progress.spill { abandonSpill(spill, at: now, into: &out) }
            for sequence in Self.changedOrUnknown(progress) {
                failSequence(sequence, reason: reason, at: now, into: &out)
            }
        case .truncate(let progress):
            failSequence(progress.sequenceID, reason: reason, at: now, into: &out)
        case .close:
            break
        }
        complete(id, refusal: refusal, into: &out)
    }
}

import CacheProtocol

/// A client's `Drain`: the worker is marked draining (no new placements) and its shards move to
/// other workers peer to peer (`AdoptShard`), their routing switching as each move ends; client
/// requests on a moving sequence are held and served after its move. Then another worker pulls
/// the drained worker's cached prefix pages, and the worker is sent its own `Drain`, after which it
/// leaves once the shards that could not move close. docs/COORDINATOR.md describes the flow.
extension CoordinatorInstance {
    // MARK: Start

    /// Starts draining a live worker and acknowledges at once; the hand-over goes on in later
    /// inputs (`advanceDrains`). An unknown worker is refused `badRequest`, a worker that is not
    /// live (draining already, dead, gone) `unavailable`.
    mutating func drain(
        _ body: Drain,
        client: RoutingIdentity,
        requestID: UInt64,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        let worker = WorkerID(body.workerID)
        guard let slot = registry.slot(of: worker) else {
            refuse(.unknownWorker(worker), client: client, requestID: requestID, into: &out)
            return
        }
        guard registry[slot].state == .live else {
            refuse(
                .workerUnavailable(worker, state: registry[slot].state),
                client: client,
                requestID: requestID,
                into: &out
            )
            return
        }
        registry[slot].state = .draining
        var progress = DrainProgress(worker: worker, slot: slot)
        progress.queue = sequences.sequences(on: worker)
        drains[worker] = progress
        counters.drainsStarted += 1
        out.append(.notice(.drainStarted(worker, sequences: progress.queue.count)))
        out.append(.answerClient(client, Envelope(requestID: requestID, message: .ack(Ack()))))
    }

    // MARK: Holding

    /// Holds a client request naming a sequence that is moving (or that a held request names, so
    /// requests on a sequence keep their order); true when it was held.
    mutating func holdIfMoving(_ envelope: Envelope, from client: RoutingIdentity, at now: MonotonicInstant) -> Bool {
        guard !drains.isEmpty || !held.isEmpty else { return false }
        let ids: [UInt64]
        switch envelope.message {
        case .prefill(let body): ids = [body.sequenceID]
        case .decode(let body): ids = body.entries.map(\.sequenceID)
        case .truncate(let body): ids = [body.sequenceID]
        case .closeSequence(let body): ids = [body.sequenceID]
        default: return false
        }
        var blocked = movingSequences()
        for request in held { blocked.formUnion(request.sequenceIDs) }
        guard ids.contains(where: blocked.contains) else { return false }
        held.append(
            HeldRequest(
                client: client,
                envelope: envelope,
                sequenceIDs: ids,
                deadline: now.advanced(by: configuration.answerBound)
            )
        )
        counters.drainHeld += 1
        return true
    }

    /// Sequences whose shard is moving or waits to move.
    func movingSequences() -> Set<UInt64> {
        var moving = Set<UInt64>()
        for drain in drains.values { moving.formUnion(drain.moves.keys) }
        return moving
    }

    // MARK: Progress

    /// After every input while a drain or a held request exists: answers held requests past
    /// their deadline, moves each drain forward, and serves the held requests whose sequences no
    /// longer move, in arrival order.
    mutating func advanceDrains(at now: MonotonicInstant, into out: inout [CoordinatorDirective]) {
        expireHeld(at: now, into: &out)
        for worker in drains.keys.sorted() { advanceDrain(worker, at: now, into: &out) }
        replayHeld(at: now, into: &out)
    }

    /// Moves drain `worker` forward as far as it can go now.
    private mutating func advanceDrain(
        _ worker: WorkerID,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        guard var drain = drains[worker] else { return }
        guard registry[drain.slot].state == .draining else {
            for move in drain.moves.values { releaseReservation(move) }
            drains[worker] = nil
            out.append(.notice(.drainEnded(worker, reason: "worker \(worker) is \(registry[drain.slot].state)")))
            return
        }
        while true {
            switch drain.stage {
            case .moving:
                startMoves(&drain, at: now, into: &out)
                guard drain.moves.isEmpty else {
                    drains[worker] = drain
                    return
                }
                if let id = nextSequenceToMove(&drain, rescan: true) {
                    // Found by a last read of the table: it moves before the pull.
                    drain.queue.insert(id, at: 0)
                    continue
                }
                if sequences.sequences(on: worker).contains(where: { sequences[$0]?.phase == .opening }) {
                    // An open placed on the worker before the drain is still awaited (at most
                    // `answerBound`): once answered, the sequence moves like the others.
                    drains[worker] = drain
                    return
                }
                drain.stage = pullStage(drain)
            case .pulling(let target, let remaining, awaiting: false):
                guard !remaining.isEmpty, let slot = registry.slot(of: target), registry[slot].takesSequences else {
                    drain.stage = .leaving(awaiting: false)
                    continue
                }
                let batch = Array(remaining.prefix(max(1, configuration.drainPullBatchKeys)))
                let request = pending.issue(
                    to: target,
                    purpose: .drain(drained: worker, step: .pull),
                    deadline: now.advanced(by: configuration.drainPullTimeout)
                )
                counters.pulls += 1
                out.append(
                    .sendToWorker(target, Envelope(requestID: request, message: pullPages(batch, from: drain.slot)))
                )
                drain.stage = .pulling(
                    target: target,
                    remaining: Array(remaining.dropFirst(batch.count)),
                    awaiting: true
                )
            case .leaving(awaiting: false):
                let request = pending.issue(
                    to: worker,
                    purpose: .drain(drained: worker, step: .leave),
                    deadline: now.advanced(by: configuration.answerBound)
                )
                out.append(
                    .sendToWorker(
                        worker,
                        Envelope(requestID: request, message: .drain(Drain(workerID: worker.rawValue)))
                    )
                )
                out.append(.notice(.drainHandedOver(worker, moved: drain.moved, stayed: drain.stayed)))
                drain.stage = .leaving(awaiting: true)
            case .pulling(_, _, awaiting: true), .leaving(awaiting: true):
                drains[worker] = drain
                return
            }
        }
    }

    /// Starts moves up to `drainMovesInFlight`, and sends the adoption of every waiting move whose
    /// sequence has no request in flight; a move no target can take ends with the shard staying.
    private mutating func startMoves(
        _ drain: inout DrainProgress,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        while drain.moves.count < max(1, configuration.drainMovesInFlight),
            let id = nextSequenceToMove(&drain, rescan: false)
        {
            guard let record = sequences[id], let shard = record.shards.first(where: { $0.worker == drain.worker })
            else { continue }
            drain.moves[id] = ShardMove(sequenceID: id, namespace: record.namespace, start: shard.start)
        }
        let waiting = drain.moves.values.filter { $0.state == .waitingForIdle }.map(\.sequenceID).sorted()
        guard !waiting.isEmpty else { return }
        var busy = Set<UInt64>()
        for operation in pending.operations.values { busy.formUnion(operation.work.sequenceIDs) }
        for id in waiting where !busy.contains(id) {
            guard var move = drain.moves[id] else { continue }
            guard let record = sequences[id], record.phase == .open,
                let index = record.shards.firstIndex(where: { $0.worker == drain.worker && $0.start == move.start })
            else {
                // Closed, failed or truncated away meanwhile: nothing to move.
                drain.moves[id] = nil
                drain.settled.insert(id)
                continue
            }
            if sendAdopt(&move, record: record, shard: index, drain: drain, at: now, into: &out) {
                drain.moves[id] = move
            } else {
                drain.moves[id] = nil
                drain.settled.insert(id)
                drain.stayed += 1
                counters.drainStayed += 1
                let reason = move.lastFailure ?? "no other live compute worker has room for it"
                out.append(.notice(.shardStayed(id, on: drain.worker, reason: reason)))
            }
        }
    }

    /// The next open sequence with a shard on the drained worker that has not moved or tried to,
    /// taken from the drain's queue; with `rescan`, when the queue has run out, the table is read
    /// again for sequences whose open on the worker was answered meanwhile.
    private func nextSequenceToMove(_ drain: inout DrainProgress, rescan: Bool) -> UInt64? {
        while let id = drain.queue.first {
            drain.queue.removeFirst()
            if drain.moves[id] == nil, !drain.settled.contains(id), let record = sequences[id], record.phase == .open,
                record.hasShard(on: drain.worker)
            {
                return id
            }
        }
        guard rescan else { return nil }
        drain.queue = sequences.sequences(on: drain.worker).filter {
            drain.moves[$0] == nil && !drain.settled.contains($0) && sequences[$0]?.phase == .open
        }
        return drain.queue.isEmpty ? nil : drain.queue.removeFirst()
    }

    /// Chooses a target for `move` as a spill does (live compute workers without a shard of the
    /// sequence, not tried before, with room for the shard's pages, least cost), reserves its
    /// pages and sends the `AdoptShard`. False when attempts are used up or no worker has room.
    private mutating func sendAdopt(
        _ move: inout ShardMove,
        record: SequenceRecord,
        shard index: Int,
        drain: DrainProgress,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) -> Bool {
        guard move.tried.count < configuration.openAttempts else { return false }
        var noKeys = StoredPrefixKeys([])
        let tokens = max(1, record.end(ofShard: index) - record.shards[index].start)
        guard
            let decision = place(
                keys: &noKeys,
                promptTokens: tokens,
                excluding: record.shards.map(\.worker) + move.tried
            )
        else { return false }
        move.target = decision.worker
        move.slot = decision.slot
        move.tried.append(decision.worker)
        move.reservedPages = decision.neededPages
        move.state = .adopting
        registry[decision.slot].placedSinceHeartbeat += decision.neededPages
        let request = pending.issue(
            to: decision.worker,
            purpose: .drain(drained: drain.worker, step: .adopt(sequenceID: move.sequenceID)),
            deadline: now.advanced(by: configuration.drainMoveTimeout)
        )
        let message = Message.adoptShard(
            AdoptShard(
                sequenceID: move.sequenceID,
                namespace: move.namespace,
                shardStart: UInt32(clamping: move.start),
                peerEndpoint: registry[drain.slot].endpoint
            )
        )
        out.append(.sendToWorker(decision.worker, Envelope(requestID: request, message: message)))
        return true
    }

    /// What follows the moves: the pull of the drained worker's cached pages that no other
    /// routable worker holds, by the least-loaded live compute worker, or, with nothing to pull
    /// or nobody to pull it, the worker's own `Drain`.
    private mutating func pullStage(_ drain: DrainProgress) -> DrainProgress.Stage {
        let drained = drain.slot
        let keys = index.keys(heldBy: drained) { slot in
            slot != drained && registry.records.indices.contains(slot) && registry[slot].state.isRoutable
        }
        var noKeys = StoredPrefixKeys([])
        guard !keys.isEmpty, let decision = place(keys: &noKeys, promptTokens: 1, excluding: [drain.worker]) else {
            return .leaving(awaiting: false)
        }
        return .pulling(target: decision.worker, remaining: keys, awaiting: false)
    }

    // MARK: Answers

    /// The answer to a request of drain `drained`'s step `step`, sent to `request.worker`.
    mutating func drainAnswered(
        _ drained: WorkerID,
        _ step: WorkerRequest.DrainStep,
        _ request: WorkerRequest,
        _ outcome: PartOutcome,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        switch step {
        case .adopt(let id):
            adoptAnswered(drained, sequence: id, by: request.worker, outcome, at: now, into: &out)
        case .pull:
            guard var drain = drains[drained], case .pulling(let target, let remaining, awaiting: true) = drain.stage
            else { return }
            if case .answered(.pullPagesReply(let reply)) = outcome {
                counters.drainPulled += UInt64(reply.pulled.filter { $0 }.count)
            }
            drain.stage = .pulling(target: target, remaining: remaining, awaiting: false)
            drains[drained] = drain
        case .leave:
            guard drains[drained] != nil else { return }
            drains[drained] = nil
            switch outcome {
            case .answered(.ack):
                counters.drainsCompleted += 1
            case .answered(let other):
                out.append(.notice(.drainEnded(drained, reason: "the worker answered \(other.type) to its Drain")))
            case .refused(let error):
                out.append(.notice(.drainEnded(drained, reason: "the worker refused its Drain: \(error.message)")))
            case .lost where registry.slot(of: drained).map({ registry[$0].state == .left }) == true:
                // Its deregistration, on the other connection, came before the acknowledgement.
                counters.drainsCompleted += 1
            case .lost(let reason):
                out.append(.notice(.drainEnded(drained, reason: "the worker's Drain was lost: \(reason)")))
            }
        }
    }

    /// A target's answer to an `AdoptShard`. Adopted: the shard's worker switches in the table,
    /// and the drained worker's shard is closed without commit. Refused or lost (a lost one's
    /// target is told to close what it may have adopted): the move waits to try another target.
    /// A shard adopted for a drain or a sequence that is gone is closed on the target.
    private mutating func adoptAnswered(
        _ drained: WorkerID,
        sequence id: UInt64,
        by target: WorkerID,
        _ outcome: PartOutcome,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        let targetRoutable = registry.slot(of: target).map { registry[$0].state.isRoutable } ?? false
        guard var drain = drains[drained], var move = drain.moves[id], move.state == .adopting, move.target == target
        else {
            switch outcome {
            case .answered, .lost:
                if targetRoutable { cleanUp(id, on: target, at: now, into: &out) }
            case .refused:
                break
            }
            return
        }
        releaseReservation(move)
        switch outcome {
        case .answered(.adoptShardReply(let reply)) where reply.sequenceID == id:
            drain.moves[id] = nil
            drain.settled.insert(id)
            let index = sequences[id].flatMap { record in
                record.phase == .open
                    ? record.shards.firstIndex { $0.worker == drained && $0.start == move.start } : nil
            }
            guard let index, targetRoutable else {
                if targetRoutable { cleanUp(id, on: target, at: now, into: &out) }
                drains[drained] = drain
                return
            }
            updateSequence(id) { record in
                record.shards[index].worker = target
                record.shards[index].slot = move.slot
            }
            if let record = sequences[id], index + 1 < record.shards.count {
                // Not the tail: sealed on its new worker as it was on the old one.
                seal(id, on: target, end: record.shards[index + 1].start, at: now, into: &out)
            }
            cleanUp(id, on: drained, at: now, into: &out)
            drain.moved += 1
            counters.drainMoved += 1
            counters.drainPages += UInt64(reply.pages)
            counters.drainBytes += reply.bytes
            out.append(
                .notice(.shardMoved(id, from: drained, to: target, pages: Int(reply.pages), bytes: reply.bytes))
            )
        case .answered(let other):
            if targetRoutable { cleanUp(id, on: target, at: now, into: &out) }
            move.lastFailure = "worker \(target) answered \(other.type) to AdoptShard"
            move.state = .waitingForIdle
            drain.moves[id] = move
        case .refused(let error):
            move.lastFailure = "worker \(target) refused to adopt it: \(error.message)"
            move.state = .waitingForIdle
            drain.moves[id] = move
        case .lost(let reason):
            if targetRoutable { cleanUp(id, on: target, at: now, into: &out) }
            move.lastFailure = "its adoption by worker \(target) was lost: \(reason)"
            move.state = .waitingForIdle
            drain.moves[id] = move
        }
        drains[drained] = drain
    }

    private mutating func releaseReservation(_ move: ShardMove) {
        guard move.state == .adopting, registry.records.indices.contains(move.slot) else { return }
        registry[move.slot].placedSinceHeartbeat = max(0, registry[move.slot].placedSinceHeartbeat - move.reservedPages)
    }

    // MARK: Held requests

    /// Answers `unavailable` every held request whose deadline has passed.
    private mutating func expireHeld(at now: MonotonicInstant, into out: inout [CoordinatorDirective]) {
        guard held.contains(where: { $0.deadline <= now }) else { return }
        let refusal = RequestRefusal.timedOut("the request (held while its sequence moved off a draining worker)")
        for request in held where request.deadline <= now {
            counters.drainHeldExpired += 1
            counters.clientErrors += 1
            out.append(
                .answerClient(
                    request.client,
                    Envelope(requestID: request.envelope.requestID, message: .errorReply(refusal.reply))
                )
            )
        }
        held.removeAll { $0.deadline <= now }
    }

    /// Serves, in arrival order, the held requests none of whose sequences moves or is named by an
    /// earlier request still held.
    private mutating func replayHeld(at now: MonotonicInstant, into out: inout [CoordinatorDirective]) {
        guard !held.isEmpty else { return }
        var blocked = movingSequences()
        let waiting = held
        held = []
        for request in waiting {
            if request.sequenceIDs.contains(where: blocked.contains) {
                held.append(request)
                blocked.formUnion(request.sequenceIDs)
            } else {
                route(request.envelope, from: request.client, deadline: request.deadline, at: now, into: &out)
            }
        }
    }
}

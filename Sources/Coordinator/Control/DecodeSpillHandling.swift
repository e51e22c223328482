import CacheProtocol

/// The spill of a decode: when a sequence's tail worker refuses an appending part with `capacity`
/// at a page boundary, the sequence continues on another worker as a new shard, and the refused
/// part is sent again, its appends to the new tails and its queries without k and v to every
/// earlier shard (the old tail included). docs/COORDINATOR.md describes the rule.
extension CoordinatorInstance {
    /// Starts the spill of a decode batch whose parts have all answered, if it can spill: layer
    /// 0, not spilled before, every failed part an appending part refused `capacity`, and every
    /// entry of those parts either starting on a page boundary past its tail's start (it
    /// continues on a new shard) or fitting in its tail's last page (it is sent to the same tail
    /// again). A new shard is chosen for each sequence that continues, as placement chooses
    /// (live, with room, not holding a shard of it, least cost), and sent its `OpenSequence`.
    /// Returns false, changing nothing, when the batch cannot spill; when it can but no worker
    /// has room, the refused parts' refusal becomes `capacity` naming the spill and the batch is
    /// answered by the usual rule.
    mutating func startSpill(
        _ operation: UInt64,
        _ progress: DecodeProgress,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) -> Bool {
        guard progress.plan.layer == 0, progress.spill == nil, progress.batch.input.k != nil else { return false }
        let pageSize = configuration.spec.pageSize
        var refusedParts: [Int] = []
        for (index, outcome) in progress.outcomes.enumerated() {
            switch outcome {
            case .answered?:
                continue
            case .refused(let error)? where error.code == .capacity && progress.parts[index].appends:
                refusedParts.append(index)
            default:
                return false
            }
        }
        guard !refusedParts.isEmpty else { return false }
        var opens: [SpillOpen] = []
        for part in refusedParts {
            for sequenceID in progress.parts[part].sequenceIDs {
                guard let record = sequences[sequenceID], record.phase == .open,
                    let entry = progress.entries.first(where: { $0.sequenceID == sequenceID })
                else { return false }
                let tokens = Int(entry.queryTokens)
                let offset = record.length % pageSize
                if offset == 0 {
                    guard record.length > record.tail.start, record.length <= WireLimits.maxTokensPerRequest else {
                        return false
                    }
                    opens.append(
                        SpillOpen(
                            sequenceID: sequenceID,
                            namespace: record.namespace,
                            start: record.length,
                            tokens: tokens
                        )
                    )
                } else if offset + tokens > pageSize {
                    return false
                }
            }
        }
        guard !opens.isEmpty else { return false }
        for index in opens.indices {
            guard placeSpill(&opens[index]) else {
                for placed in opens[..<index] { releaseSpillReservation(placed) }
                counters.spillsRefused += 1
                refuseSpill(
                    operation,
                    progress,
                    refusedParts: refusedParts,
                    sequenceID: opens[index].sequenceID,
                    at: now,
                    into: &out
                )
                return true
            }
        }
        var spilling = progress
        spilling.spill = DecodeSpill(refusedParts: refusedParts, opens: opens)
        pending[operation: operation]?.work = .decode(spilling)
        for (index, open) in opens.enumerated() {
            sendSpillOpen(open, operation: operation, part: index, at: now, into: &out)
        }
        return true
    }

    /// One new shard's answer. An `OpenSequenceReply` for the sequence at the shard's start opens
    /// it; a `capacity` or `unavailable` refusal, or a lost open, asks another worker while
    /// `openAttempts` allow and the operation's deadline has not passed; anything else fails it.
    /// Once every open is settled: all opened, the sequences continue on them and the refused
    /// parts are sent again; otherwise the opened shards are closed and the batch is answered
    /// `capacity` (or `unavailable` when another part changed a sequence).
    mutating func advanceSpillOpen(
        _ operation: UInt64,
        open index: Int,
        _ outcome: PartOutcome,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        guard let current = pending[operation: operation], case .decode(var progress) = current.work,
            var spill = progress.spill, spill.opens.indices.contains(index)
        else { return }
        var open = spill.opens[index]
        switch outcome {
        case .answered(.openSequenceReply(let reply))
        where reply.sequenceID == open.sequenceID && Int(reply.cachedTokens) == open.start:
            open.state = .opened
        case .answered(let other):
            releaseSpillReservation(open)
            if registry[open.slot].state.isRoutable { cleanUp(open.sequenceID, on: open.worker, at: now, into: &out) }
            open.state = .failed(
                RequestRefusal.badWorkerAnswer(
                    "worker \(open.worker) answered \(other.type) to the OpenSequence of a new shard"
                ).reply
            )
        case .refused(let error) where error.code == .capacity || error.code == .unavailable:
            releaseSpillReservation(open)
            open.state = .failed(error)
            retrySpillOpen(&open, operation: operation, part: index, deadline: current.deadline, at: now, into: &out)
        case .refused(let error):
            releaseSpillReservation(open)
            open.state = .failed(error)
        case .lost(let reason):
            releaseSpillReservation(open)
            if registry[open.slot].state.isRoutable { cleanUp(open.sequenceID, on: open.worker, at: now, into: &out) }
            open.state = .failed(
                RequestRefusal.timedOut("the OpenSequence of a new shard on worker \(open.worker) (\(reason))").reply
            )
            retrySpillOpen(&open, operation: operation, part: index, deadline: current.deadline, at: now, into: &out)
        }
        spill.opens[index] = open
        if spill.opensSettled {
            // A shard opened on a worker that stopped taking sequences (it began draining), or for
            // a sequence no longer open, cannot be recorded: the spill fails as a whole.
            for settled in spill.opens.indices where spill.opens[settled].state == .opened {
                let candidate = spill.opens[settled]
                let usable =
                    registry[candidate.slot].takesSequences
                    && sequences[candidate.sequenceID]?.phase == .open
                if !usable {
                    spill.opens[settled].state = .failed(
                        RequestRefusal.workerUnavailable(candidate.worker, state: registry[candidate.slot].state).reply
                    )
                    releaseSpillReservation(candidate)
                    if registry[candidate.slot].state.isRoutable {
                        cleanUp(candidate.sequenceID, on: candidate.worker, at: now, into: &out)
                    }
                }
            }
        }
        progress.spill = spill
        pending[operation: operation]?.work = .decode(progress)
        guard spill.opensSettled else { return }
        let failure = spill.opens.first { if case .failed = $0.state { true } else { false } }
        guard let failure else {
            continueAfterSpill(operation, progress, at: now, into: &out)
            return
        }
        for open in spill.opens where open.state == .opened {
            releaseSpillReservation(open)
            if registry[open.slot].state.isRoutable { cleanUp(open.sequenceID, on: open.worker, at: now, into: &out) }
        }
        counters.spillsRefused += 1
        var original = progress
        original.spill = nil
        refuseSpill(
            operation,
            original,
            refusedParts: spill.refusedParts,
            sequenceID: failure.sequenceID,
            at: now,
            into: &out
        )
    }

    /// Closes the shards a spill opened or may have opened and gives back their reservations;
    /// for an operation given up while its opens were awaited.
    mutating func abandonSpill(_ spill: DecodeSpill, at now: MonotonicInstant, into out: inout [CoordinatorDirective]) {
        guard spill.awaitingOpens else { return }
        for open in spill.opens where open.state == .opened || open.state == .awaited {
            releaseSpillReservation(open)
            if registry[open.slot].state.isRoutable { cleanUp(open.sequenceID, on: open.worker, at: now, into: &out) }
        }
    }

    // MARK: Steps

    /// Every new shard opened: the sequences continue on them, and the refused parts' entries are
    /// split again over the sequences' shards and sent; the parts that had answered are kept, and
    /// the merge plan now reads the re-sent entries from the new parts.
    private mutating func continueAfterSpill(
        _ operation: UInt64,
        _ progress: DecodeProgress,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        guard let spill = progress.spill else { return }
        for open in spill.opens {
            let previousTail = sequences[open.sequenceID]?.tail.worker
            do {
                try continueOnNewShard(open.sequenceID, worker: open.worker, start: open.start)
                counters.spills += 1
                if let previousTail { seal(open.sequenceID, on: previousTail, end: open.start, at: now, into: &out) }
            } catch {
                let reason = "its new shard on worker \(open.worker) could not be recorded: \(error)"
                failSequence(open.sequenceID, reason: reason, at: now, into: &out)
                if registry[open.slot].state.isRoutable {
                    cleanUp(open.sequenceID, on: open.worker, at: now, into: &out)
                }
                abandon(operation, refusal: .sequenceFailed(open.sequenceID, reason: reason), at: now, into: &out)
                return
            }
        }
        let refusedSequences = Set(spill.refusedParts.flatMap { progress.parts[$0].sequenceIDs })
        var firstRow: [Int] = []
        var row = 0
        for entry in progress.plan.entries {
            firstRow.append(row)
            row += entry.rows
        }
        let resent = progress.entries.indices.filter { refusedSequences.contains(progress.entries[$0].sequenceID) }
        let ranges = resent.map { firstRow[$0]..<(firstRow[$0] + progress.plan.entries[$0].rows) }
        let split: DecodeSplit
        do {
            let batch = progress.batch
            let input = try AttentionInput(
                q: try TensorRows.gather(batch.input.q, rows: ranges),
                k: try batch.input.k.map { k throws(WireError) in try TensorRows.gather(k, rows: ranges) },
                v: try batch.input.v.map { v throws(WireError) in try TensorRows.gather(v, rows: ranges) }
            )
            let entries = resent.map { progress.entries[$0] }
            split = try DecodeSplit.split(
                try Decode(layer: batch.layer, entries: entries, input: input),
                shards: entries.map { sequences[$0.sequenceID]?.shards ?? [] }
            )
        } catch {
            let reason = "the refused part could not be split again: \(error)"
            abandon(operation, refusal: .badWorkerAnswer(reason), at: now, into: &out)
            return
        }
        var rebuilt = progress
        let kept = progress.parts.indices.filter { !spill.refusedParts.contains($0) }
        var newIndex: [Int: Int] = [:]
        for (index, part) in kept.enumerated() { newIndex[part] = index }
        rebuilt.parts =
            kept.map { progress.parts[$0] }
            + split.parts.map {
                DecodeProgress.Part(
                    worker: $0.worker,
                    appends: $0.appends,
                    sequenceIDs: $0.decode.entries.map(\.sequenceID)
                )
            }
        rebuilt.outcomes = kept.map { progress.outcomes[$0] } + Array(repeating: nil, count: split.parts.count)
        rebuilt.plan.partRows = kept.map { progress.plan.partRows[$0] } + split.plan.partRows
        for (index, entry) in progress.plan.entries.enumerated() {
            if let position = resent.firstIndex(of: index) {
                rebuilt.plan.entries[index].sources = split.plan.entries[position].sources.map {
                    DecodeMergePlan.Source(part: $0.part + kept.count, firstRow: $0.firstRow)
                }
            } else {
                rebuilt.plan.entries[index].sources = entry.sources.map {
                    DecodeMergePlan.Source(part: newIndex[$0.part] ?? $0.part, firstRow: $0.firstRow)
                }
            }
        }
        rebuilt.spill?.awaitingOpens = false
        pending[operation: operation]?.work = .decode(rebuilt)
        for (index, part) in split.parts.enumerated() {
            send(
                .decode(part.decode),
                to: part.worker,
                operation: operation,
                part: kept.count + index,
                at: now,
                into: &out
            )
        }
    }

    /// Chooses the worker for `open`'s new shard as placement does: live compute workers with
    /// room for the shard's first tokens, not holding a shard of the sequence and not asked
    /// before, least cost (no prefix is cached past the shard's start, so under the `prefix`
    /// policy this is the least loaded). Reserves the pages; false when no worker has room.
    private mutating func placeSpill(_ open: inout SpillOpen) -> Bool {
        guard let record = sequences[open.sequenceID] else { return false }
        var noKeys = StoredPrefixKeys([])
        guard
            let decision = place(
                keys: &noKeys,
                promptTokens: max(1, open.tokens),
                excluding: record.shards.map(\.worker) + open.tried
            )
        else { return false }
        open.worker = decision.worker
        open.slot = decision.slot
        open.tried.append(decision.worker)
        open.reservedPages = decision.neededPages
        open.state = .awaited
        registry[decision.slot].placedSinceHeartbeat += decision.neededPages
        return true
    }

    /// After a refused or lost open: asks another worker when attempts remain and the deadline
    /// has not passed; `open` keeps its failure otherwise.
    private mutating func retrySpillOpen(
        _ open: inout SpillOpen,
        operation: UInt64,
        part: Int,
        deadline: MonotonicInstant,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        guard open.tried.count < configuration.openAttempts, now < deadline else { return }
        var next = open
        guard placeSpill(&next) else { return }
        open = next
        sendSpillOpen(open, operation: operation, part: part, at: now, into: &out)
    }

    private mutating func sendSpillOpen(
        _ open: SpillOpen,
        operation: UInt64,
        part: Int,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        // The worker keys only full pages from the shard start, and there are none: any tokens
        // of the right count do.
        let message = Message.openSequence(
            OpenSequence(
                sequenceID: open.sequenceID,
                namespace: open.namespace,
                shardStart: UInt32(open.start),
                tokens: [UInt32](repeating: 0, count: open.start)
            )
        )
        send(message, to: open.worker, operation: operation, part: part, at: now, into: &out)
    }

    private mutating func releaseSpillReservation(_ open: SpillOpen) {
        guard registry.records.indices.contains(open.slot) else { return }
        registry[open.slot].placedSinceHeartbeat = max(0, registry[open.slot].placedSinceHeartbeat - open.reservedPages)
    }

    /// No worker could take a new shard for `sequenceID`: the refused parts' refusal becomes
    /// `capacity` saying so, and the batch is answered by the usual rule.
    private mutating func refuseSpill(
        _ operation: UInt64,
        _ progress: DecodeProgress,
        refusedParts: [Int],
        sequenceID: UInt64,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        var refused = progress
        let reply = RequestRefusal.noSpillCapacity(sequenceID).reply
        for part in refusedParts { refused.outcomes[part] = .refused(reply) }
        pending[operation: operation]?.work = .decode(refused)
        finishFailedDecode(operation, refused, at: now, into: &out)
    }
}

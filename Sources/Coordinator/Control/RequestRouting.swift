import CacheProtocol

/// Prefill, Decode, Truncate and CloseSequence from clients: routed to the workers holding
/// the sequences' shards, and their answers put together.
extension CoordinatorInstance {
    // MARK: Prefill

    /// Prefill of a sequence on one shard goes to its worker, as it came; its answer goes back as
    /// it came. On a sequence of several shards its queries must attend every shard: it goes as a
    /// one-entry decode (k and v to the tail, the queries alone to every earlier shard, merged
    /// exactly, answered as a `PrefillReply`), which appends at the end, so it must start where
    /// the layer ends — at the sequence's length for layer 0, and for a later layer where layer 0
    /// ended before this chunk (`badRequest` otherwise). Such a chunk spills like a decode entry.
    mutating func prefill(
        _ body: Prefill,
        client: RoutingIdentity,
        requestID: UInt64,
        deadline: MonotonicInstant,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        guard let record = openSequenceRecord(body.sequenceID, client: client, requestID: requestID, into: &out) else {
            return
        }
        if record.shards.count > 1 {
            prefillAcrossShards(
                body,
                record: record,
                client: client,
                requestID: requestID,
                deadline: deadline,
                at: now,
                into: &out
            )
            return
        }
        let progress = PrefillProgress(body: body)
        let operation = pending.begin(
            client: client,
            requestID: requestID,
            deadline: deadline,
            work: .prefill(progress)
        )
        send(.prefill(body), to: record.tail.worker, operation: operation, part: 0, at: now, into: &out)
    }

    /// The tail's answer. A `PrefillReply` is the answer (and, for layer 0, grows the sequence); a
    /// `capacity` refusal of a layer-0 chunk that starts on a page boundary sends the chunk again
    /// as a one-entry decode, which spills; another refusal is passed on (the worker changed
    /// nothing); a lost request fails the sequence.
    mutating func advancePrefill(
        _ operation: UInt64,
        _ outcome: PartOutcome,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        guard case .prefill(let progress)? = pending[operation: operation]?.work else { return }
        switch outcome {
        case .answered(.prefillReply(let reply)) where reply.result.rows == progress.tokens:
            if progress.layer == 0 {
                updateSequence(progress.sequenceID) { $0.length = max($0.length, progress.start + progress.tokens) }
            }
            complete(operation, with: .prefillReply(reply), into: &out)
        case .answered(let other):
            let refusal = RequestRefusal.badWorkerAnswer(
                "the tail answered \(other.type) that does not fit the prefill"
            )
            failSequence(progress.sequenceID, reason: refusal.description, at: now, into: &out)
            complete(operation, refusal: refusal, into: &out)
        case .refused(let error)
        where error.code == .capacity && progress.layer == 0
            && progress.start % configuration.spec.pageSize == 0:
            // The tail has no page for the chunk, which starts on a page boundary: it goes again as
            // a one-entry decode, whose refusal spills the sequence onto a new shard.
            guard let record = sequences[progress.sequenceID], record.phase == .open,
                let finished = pending.finish(operation)
            else {
                complete(operation, with: .errorReply(error), into: &out)
                return
            }
            prefillAcrossShards(
                progress.body,
                record: record,
                client: finished.client,
                requestID: finished.requestID,
                deadline: finished.deadline,
                at: now,
                into: &out
            )
        case .refused(let error):
            complete(operation, with: .errorReply(error), into: &out)
        case .lost(let reason):
            failSequence(progress.sequenceID, reason: reason, at: now, into: &out)
            complete(operation, refusal: .sequenceFailed(progress.sequenceID, reason: reason), into: &out)
        }
    }

    /// A prefill on a sequence of several shards, sent as a one-entry decode.
    private mutating func prefillAcrossShards(
        _ body: Prefill,
        record: SequenceRecord,
        client: RoutingIdentity,
        requestID: UInt64,
        deadline: MonotonicInstant,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        let start = Int(body.startPosition)
        let expected = body.layer == 0 ? record.length : record.length - body.tokenCount
        guard start == expected else {
            refuse(
                .malformed(
                    "sequence \(body.sequenceID) spans \(record.shards.count) workers: a prefill of layer \(body.layer) appends at its end and must start at \(expected), not \(start)"
                ),
                client: client,
                requestID: requestID,
                into: &out
            )
            return
        }
        let decode: Decode
        do {
            decode = try Decode(
                layer: body.layer,
                entries: [Decode.Entry(sequenceID: body.sequenceID, queryTokens: UInt32(body.tokenCount))],
                input: body.input
            )
        } catch {
            refuse(
                .malformed("the prefill cannot be sent as a decode: \(error)"),
                client: client,
                requestID: requestID,
                into: &out
            )
            return
        }
        startDecode(
            decode,
            shards: [record.shards],
            prefillOf: body.sequenceID,
            client: client,
            requestID: requestID,
            deadline: deadline,
            at: now,
            into: &out
        )
    }

    // MARK: Decode

    /// Decode: the batch must have an entry, and every entry must name a distinct open sequence
    /// (else it is refused whole, nothing sent); it is split by worker (`DecodeSplit`) and each
    /// part sent.
    mutating func decode(
        _ body: Decode,
        client: RoutingIdentity,
        requestID: UInt64,
        deadline: MonotonicInstant,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        guard !body.entries.isEmpty else {
            refuse(
                .malformed("a decode batch needs at least one entry"),
                client: client,
                requestID: requestID,
                into: &out
            )
            return
        }
        var shards: [[Shard]] = []
        shards.reserveCapacity(body.entries.count)
        var seen = Set<UInt64>()
        for entry in body.entries {
            guard seen.insert(entry.sequenceID).inserted else {
                refuse(.duplicateEntry(entry.sequenceID), client: client, requestID: requestID, into: &out)
                return
            }
            guard let record = openSequenceRecord(entry.sequenceID, client: client, requestID: requestID, into: &out)
            else { return }
            shards.append(record.shards)
        }
        startDecode(
            body,
            shards: shards,
            prefillOf: nil,
            client: client,
            requestID: requestID,
            deadline: deadline,
            at: now,
            into: &out
        )
    }

    /// Splits a checked batch (`shards`: each entry's sequence's shards) by worker and sends the
    /// parts; `prefillOf` names the sequence whose prefill the batch carries.
    private mutating func startDecode(
        _ body: Decode,
        shards: [[Shard]],
        prefillOf: UInt64?,
        client: RoutingIdentity,
        requestID: UInt64,
        deadline: MonotonicInstant,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        let split: DecodeSplit
        do {
            split = try DecodeSplit.split(body, shards: shards)
        } catch {
            refuse(
                .malformed("the decode batch cannot be split: \(error)"),
                client: client,
                requestID: requestID,
                into: &out
            )
            return
        }
        let progress = DecodeProgress(
            plan: split.plan,
            parts: split.parts.map {
                DecodeProgress.Part(
                    worker: $0.worker,
                    appends: $0.appends,
                    sequenceIDs: $0.decode.entries.map(\.sequenceID)
                )
            },
            outcomes: Array(repeating: nil, count: split.parts.count),
            entries: body.entries,
            batch: body,
            prefillOf: prefillOf
        )
        let operation = pending.begin(
            client: client,
            requestID: requestID,
            deadline: deadline,
            work: .decode(progress)
        )
        for (index, part) in split.parts.enumerated() {
            send(.decode(part.decode), to: part.worker, operation: operation, part: index, at: now, into: &out)
        }
    }

    /// One part's answer. When every part has answered well, the answer is the single part's reply
    /// (one worker, one shard each) or a merge job. A lost part ends the batch at once. A batch
    /// with a failed part is answered with the first refusal when no sequence changed, and
    /// `unavailable` otherwise, failing every sequence it changed or may have changed: the client
    /// cannot know their lengths.
    mutating func advanceDecode(
        _ operation: UInt64,
        part: Int,
        _ outcome: PartOutcome,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        guard let current = pending[operation: operation], case .decode(var progress) = current.work else { return }
        if progress.spill?.awaitingOpens == true {
            advanceSpillOpen(operation, open: part, outcome, at: now, into: &out)
            return
        }
        var outcome = outcome
        if case .answered(let message) = outcome {
            guard case .decodeReply(let reply) = message, reply.layer == progress.plan.layer,
                reply.result.rows == progress.plan.partRows[part]
            else {
                outcome = .lost(
                    "worker \(progress.parts[part].worker) answered \(message.type) that does not fit its part of the decode"
                )
                progress.outcomes[part] = outcome
                pending[operation: operation]?.work = .decode(progress)
                finishFailedDecode(operation, progress, at: now, into: &out)
                return
            }
        }
        progress.outcomes[part] = outcome
        pending[operation: operation]?.work = .decode(progress)
        if case .lost = outcome {
            finishFailedDecode(operation, progress, at: now, into: &out)
            return
        }
        guard progress.outcomes.allSatisfy({ $0 != nil }) else { return }
        var replies: [DecodeReply] = []
        for outcome in progress.outcomes {
            guard case .answered(.decodeReply(let reply))? = outcome else {
                if !startSpill(operation, progress, at: now, into: &out) {
                    finishFailedDecode(operation, progress, at: now, into: &out)
                }
                return
            }
            replies.append(reply)
        }
        // Layer 0's new tokens make the sequence longer; a decode without k and v appends nothing.
        if progress.plan.layer == 0, progress.batch.input.k != nil {
            for entry in progress.entries {
                updateSequence(entry.sequenceID) { $0.length += Int(entry.queryTokens) }
            }
        }
        if progress.plan.isPassThrough, let reply = replies.first {
            let answer: Message =
                progress.prefillOf.map {
                    .prefillReply(PrefillReply(sequenceID: $0, layer: reply.layer, result: reply.result))
                } ?? .decodeReply(reply)
            complete(operation, with: answer, into: &out)
            return
        }
        guard let finished = pending.finish(operation) else { return }
        out.append(
            .mergeDecode(
                DecodeMergeJob(
                    client: finished.client,
                    requestID: finished.requestID,
                    plan: progress.plan,
                    parts: replies.map(\.result),
                    prefillOf: progress.prefillOf
                )
            )
        )
    }

    /// Answers a batch with a failed part: the first refusal when no sequence changed, else
    /// `unavailable`, failing the sequences that changed or may have changed.
    mutating func finishFailedDecode(
        _ operation: UInt64,
        _ progress: DecodeProgress,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        let changed = Self.changedOrUnknown(progress)
        var cause = "a part was lost"
        var firstRefusal: ErrorReply?
        for outcome in progress.outcomes {
            switch outcome {
            case .refused(let error)?:
                if firstRefusal == nil { firstRefusal = error }
            case .lost(let reason)?:
                cause = reason
            default:
                break
            }
        }
        if changed.isEmpty, let firstRefusal,
            !progress.outcomes.contains(where: { if case .lost? = $0 { true } else { false } })
        {
            complete(operation, with: .errorReply(firstRefusal), into: &out)
            return
        }
        if let firstRefusal, !progress.outcomes.contains(where: { if case .lost? = $0 { true } else { false } }) {
            cause = firstRefusal.description
        }
        for sequence in changed {
            failSequence(
                sequence,
                reason: "a decode batch on it was only partly applied (\(cause))",
                at: now,
                into: &out
            )
        }
        complete(operation, refusal: .partlyApplied(failed: changed, cause: cause), into: &out)
    }

    /// Sequences of a decode batch whose tail may have appended: their appending part answered,
    /// is awaited, or was lost. A refused part changed nothing; parts without k and v change nothing.
    static func changedOrUnknown(_ progress: DecodeProgress) -> [UInt64] {
        var changed: [UInt64] = []
        for (index, part) in progress.parts.enumerated() where part.appends {
            switch progress.outcomes[index] {
            case .refused?: continue
            case .answered?, .lost?, nil: changed.append(contentsOf: part.sequenceIDs)
            }
        }
        return changed
    }

    // MARK: Truncate

    /// Truncate goes to the shards it cuts: the shard holding the new end (or the tail) gets the
    /// `Truncate`; shards starting past the new end are closed and dropped.
    mutating func truncate(
        _ body: Truncate,
        client: RoutingIdentity,
        requestID: UInt64,
        deadline: MonotonicInstant,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        guard let record = openSequenceRecord(body.sequenceID, client: client, requestID: requestID, into: &out) else {
            return
        }
        let length = Int(body.length)
        var parts: [FanOutProgress.Part] = []
        var messages: [Message] = []
        for (index, shard) in record.shards.enumerated() {
            let isTail = index == record.shards.count - 1
            if shard.start > length && index > 0 {
                parts.append(FanOutProgress.Part(worker: shard.worker, closesShard: true))
                messages.append(.closeSequence(CloseSequence(sequenceID: body.sequenceID, commit: false)))
            } else if isTail || record.end(ofShard: index) > length {
                parts.append(FanOutProgress.Part(worker: shard.worker, closesShard: false))
                messages.append(.truncate(body))
            }
        }
        let progress = FanOutProgress(
            sequenceID: body.sequenceID,
            length: length,
            parts: parts,
            outcomes: Array(repeating: nil, count: parts.count)
        )
        let operation = pending.begin(
            client: client,
            requestID: requestID,
            deadline: deadline,
            work: .truncate(progress)
        )
        for (index, part) in parts.enumerated() {
            send(messages[index], to: part.worker, operation: operation, part: index, at: now, into: &out)
        }
    }

    /// One shard's answer. All acknowledged: the sequence is cut (and shards past its end dropped)
    /// and the client acknowledged. Otherwise the first refusal is answered when nothing changed;
    /// when some shards changed, or an outcome is unknown, the sequence fails.
    mutating func advanceTruncate(
        _ operation: UInt64,
        part: Int,
        _ outcome: PartOutcome,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        guard case .truncate(var progress)? = pending[operation: operation]?.work else { return }
        progress.outcomes[part] = outcome
        pending[operation: operation]?.work = .truncate(progress)
        let lost = progress.outcomes.contains { if case .lost? = $0 { true } else { false } }
        guard lost || progress.outcomes.allSatisfy({ $0 != nil }) else { return }
        let acknowledged = progress.outcomes.filter { if case .answered(.ack)? = $0 { true } else { false } }.count
        if acknowledged == progress.parts.count {
            let closed = Set(progress.parts.filter(\.closesShard).map(\.worker))
            updateSequence(progress.sequenceID) { record in
                record.shards.removeAll { closed.contains($0.worker) }
                record.length = min(record.length, progress.length)
            }
            complete(operation, with: .ack(Ack()), into: &out)
            return
        }
        let refusals = progress.outcomes.compactMap { outcome -> ErrorReply? in
            if case .refused(let error)? = outcome { error } else { nil }
        }
        if !lost, acknowledged == 0, let first = refusals.first {
            complete(operation, with: .errorReply(first), into: &out)
            return
        }
        let reason = "a truncation was applied to some of its shards only"
        failSequence(progress.sequenceID, reason: reason, at: now, into: &out)
        complete(operation, refusal: .sequenceFailed(progress.sequenceID, reason: reason), into: &out)
    }

    // MARK: Close

    /// CloseSequence goes to every shard on a routable worker; the sequence leaves the table at
    /// once. A failed sequence is acknowledged at once (its shards were closed when it failed) and
    /// forgotten.
    mutating func close(
        _ body: CloseSequence,
        client: RoutingIdentity,
        requestID: UInt64,
        deadline: MonotonicInstant,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        guard let record = sequences[body.sequenceID], record.phase == .open else {
            if sequences.forgetFailure(body.sequenceID) {
                out.append(.answerClient(client, Envelope(requestID: requestID, message: .ack(Ack()))))
            } else {
                refuse(.unknownSequence(body.sequenceID), client: client, requestID: requestID, into: &out)
            }
            return
        }
        sequences.remove(body.sequenceID)
        account(record, -1)
        let parts = record.shards.filter { registry[$0.slot].state.isRoutable }
            .map { FanOutProgress.Part(worker: $0.worker, closesShard: true) }
        guard !parts.isEmpty else {
            out.append(.answerClient(client, Envelope(requestID: requestID, message: .ack(Ack()))))
            return
        }
        let progress = FanOutProgress(
            sequenceID: body.sequenceID,
            length: 0,
            parts: parts,
            outcomes: Array(repeating: nil, count: parts.count)
        )
        let operation = pending.begin(
            client: client,
            requestID: requestID,
            deadline: deadline,
            work: .close(progress)
        )
        for (index, part) in parts.enumerated() {
            send(.closeSequence(body), to: part.worker, operation: operation, part: index, at: now, into: &out)
        }
    }

    /// One shard's answer to a close: once all are in, `Ack` when all acknowledged, else the first
    /// refusal, else `unavailable`.
    mutating func advanceClose(
        _ operation: UInt64,
        part: Int,
        _ outcome: PartOutcome,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        guard case .close(var progress)? = pending[operation: operation]?.work else { return }
        progress.outcomes[part] = outcome
        pending[operation: operation]?.work = .close(progress)
        guard progress.outcomes.allSatisfy({ $0 != nil }) else { return }
        for outcome in progress.outcomes {
            switch outcome {
            case .refused(let error)?:
                complete(operation, with: .errorReply(error), into: &out)
                return
            case .lost(let reason)?:
                complete(
                    operation,
                    refusal: .timedOut("closing sequence \(progress.sequenceID) (\(reason))"),
                    into: &out
                )
                return
            case .answered(let message)? where message != .ack(Ack()):
                complete(
                    operation,
                    refusal: .badWorkerAnswer("a shard answered \(message.type) to CloseSequence"),
                    into: &out
                )
                return
            default:
                continue
            }
        }
        complete(operation, with: .ack(Ack()), into: &out)
    }
}

import CacheProtocol

/// OpenSequence from a client: placement by where the prefix is cached, an optional pull from the
/// holder, the chosen worker's open, and the answer.
extension CoordinatorInstance {
    /// Starts an open: computes the prompt's prefix keys, gives the sequence its id and places it.
    /// Refused when it comes with a sequence id or shard start; `capacity` at once when no worker
    /// has room.
    mutating func openSequence(
        _ body: OpenSequence, client: RoutingIdentity, requestID: UInt64, at now: MonotonicInstant, into out: inout [CoordinatorDirective]
    ) {
        guard body.sequenceID == 0, body.shardStart == 0 else {
            refuse(
                .malformed("a client opens a sequence with sequence id 0 and shard start 0, not \(body.sequenceID) and \(body.shardStart)"),
                client: client, requestID: requestID, into: &out)
            return
        }
        let keys = PrefixKey.chain(
            namespace: body.namespace, fingerprint: fingerprint, tokens: body.tokens, pageSize: configuration.spec.pageSize)
        let progress = OpenProgress(sequenceID: nextSequenceID, namespace: body.namespace, tokens: body.tokens, keys: keys)
        nextSequenceID &+= 1
        let operation = pending.begin(
            client: client, requestID: requestID, deadline: now.advanced(by: configuration.answerBound), work: .open(progress))
        attemptOpen(operation, at: now, into: &out)
    }

    /// Places the open on a worker not tried yet and sends it the pull or the open; answers the
    /// client when no worker can take it (`capacity`, or the last worker's refusal).
    mutating func attemptOpen(_ operation: UInt64, at now: MonotonicInstant, into out: inout [CoordinatorDirective]) {
        guard case .open(var progress)? = pending[operation: operation]?.work else { return }
        guard let decision = place(keys: progress.keys, promptTokens: progress.tokens.count, excluding: progress.tried) else {
            counters.placementsRefused += 1
            if let error = progress.lastError {
                complete(operation, with: .errorReply(error), into: &out)
            } else {
                let pages = (progress.tokens.count + configuration.spec.pageSize - 1) / configuration.spec.pageSize
                let workers = registry.records.filter(\.takesSequences).count
                complete(operation, refusal: .noCapacity(pages: pages, workers: workers), into: &out)
            }
            return
        }
        counters.placements += 1
        progress.worker = decision.worker
        progress.slot = decision.slot
        progress.tried.append(decision.worker)
        progress.reservedPages = decision.neededPages
        registry[decision.slot].placedSinceHeartbeat += decision.neededPages
        let record = SequenceRecord(
            id: progress.sequenceID, namespace: progress.namespace, phase: .opening, promptTokens: progress.tokens.count,
            length: 0, shards: [Shard(worker: decision.worker, slot: decision.slot, start: 0)])
        sequences[progress.sequenceID] = record
        account(record, +1)
        if let pull = decision.pull {
            progress.stage = .pulling
            pending[operation: operation]?.work = .open(progress)
            counters.pulls += 1
            let message = Message.pullPages(PullPages(
                peerEndpoint: registry[pull.source.slot].endpoint, keys: Array(progress.keys[pull.pages])))
            send(message, to: decision.worker, operation: operation, part: 0, timeout: configuration.pullTimeout, at: now, into: &out)
        } else {
            progress.stage = .opening
            pending[operation: operation]?.work = .open(progress)
            sendOpen(progress, operation: operation, at: now, into: &out)
        }
    }

    private mutating func sendOpen(_ progress: OpenProgress, operation: UInt64, at now: MonotonicInstant, into out: inout [CoordinatorDirective]) {
        let message = Message.openSequence(OpenSequence(
            sequenceID: progress.sequenceID, namespace: progress.namespace, shardStart: 0, tokens: progress.tokens))
        send(message, to: progress.worker, operation: operation, part: 0, at: now, into: &out)
    }

    /// The pull's or the open's outcome. After a pull, whatever its outcome, the open follows (a
    /// failed pull only means fewer cached tokens). The open's reply completes the operation; a
    /// `capacity` or `unavailable` refusal, or a lost open, tries another worker while attempts
    /// remain; any other refusal is the answer.
    mutating func advanceOpen(_ operation: UInt64, _ outcome: PartOutcome, at now: MonotonicInstant, into out: inout [CoordinatorDirective]) {
        guard case .open(var progress)? = pending[operation: operation]?.work else { return }
        if progress.stage == .pulling {
            guard registry[progress.slot].state.isRoutable else {
                releaseOpen(progress, cleanUp: false, at: now, into: &out)
                progress.lastError = RequestRefusal.workerUnavailable(progress.worker, state: registry[progress.slot].state).reply
                retryOpen(operation, progress, at: now, into: &out)
                return
            }
            progress.stage = .opening
            pending[operation: operation]?.work = .open(progress)
            sendOpen(progress, operation: operation, at: now, into: &out)
            return
        }
        switch outcome {
        case .answered(.openSequenceReply(let reply))
        where reply.sequenceID == progress.sequenceID && Int(reply.cachedTokens) <= progress.tokens.count:
            let cached = Int(reply.cachedTokens)
            updateSequence(progress.sequenceID) {
                $0.phase = .open
                $0.length = cached
            }
            registry[progress.slot].placements += 1
            registry[progress.slot].promptTokens += UInt64(progress.tokens.count)
            registry[progress.slot].cachedTokens += UInt64(cached)
            counters.promptTokens += UInt64(progress.tokens.count)
            counters.cachedTokens += UInt64(cached)
            complete(
                operation, with: .openSequenceReply(OpenSequenceReply(sequenceID: progress.sequenceID, cachedTokens: reply.cachedTokens)),
                into: &out)
        case .answered(let other):
            releaseOpen(progress, cleanUp: true, at: now, into: &out)
            complete(operation, refusal: .badWorkerAnswer("worker \(progress.worker) answered \(other.type) to OpenSequence"), into: &out)
        case .refused(let error) where error.code == .capacity || error.code == .unavailable:
            releaseOpen(progress, cleanUp: false, at: now, into: &out)
            progress.lastError = error
            retryOpen(operation, progress, at: now, into: &out)
        case .refused(let error):
            releaseOpen(progress, cleanUp: false, at: now, into: &out)
            complete(operation, with: .errorReply(error), into: &out)
        case .lost(let reason):
            releaseOpen(progress, cleanUp: true, at: now, into: &out)
            progress.lastError = RequestRefusal.timedOut("the open on worker \(progress.worker) (\(reason))").reply
            retryOpen(operation, progress, at: now, into: &out)
        }
    }

    private mutating func retryOpen(_ operation: UInt64, _ progress: OpenProgress, at now: MonotonicInstant, into out: inout [CoordinatorDirective]) {
        var progress = progress
        progress.stage = .placing
        pending[operation: operation]?.work = .open(progress)
        if progress.tried.count < configuration.openAttempts {
            attemptOpen(operation, at: now, into: &out)
        } else {
            complete(operation, with: .errorReply(progress.lastError ?? RequestRefusal.noCapacity(pages: 0, workers: 0).reply), into: &out)
        }
    }

    /// Undoes a placement: the sequence leaves the table and its pages are given back; with
    /// `cleanUp`, the worker (if still routable) is told to close the sequence it may have opened.
    mutating func releaseOpen(_ progress: OpenProgress, cleanUp closeOnWorker: Bool, at now: MonotonicInstant, into out: inout [CoordinatorDirective]) {
        guard progress.stage != .placing else { return }
        if let record = sequences.remove(progress.sequenceID) { account(record, -1) }
        registry[progress.slot].placedSinceHeartbeat = max(0, registry[progress.slot].placedSinceHeartbeat - progress.reservedPages)
        if closeOnWorker, registry[progress.slot].state.isRoutable {
            cleanUp(progress.sequenceID, on: progress.worker, at: now, into: &out)
        }
    }

    /// Chooses the worker for a prompt with prefix keys `keys`, among live compute workers not in
    /// `excluding`, by the configured policy; `nil` when none has room.
    mutating func place(keys: [PrefixKey], promptTokens: Int, excluding: [WorkerID]) -> PlacementDecision? {
        let pageSize = configuration.spec.pageSize
        let weights = configuration.weights
        var holdings: [PrefixHolding] = []
        if configuration.placement == .prefix { holdings = index.leadingRuns(of: keys, credits: weights.tierCredits) }
        var bySlot: [Int: PrefixHolding] = [:]
        var source: PullSource?
        var sourceLoad = 0
        for holding in holdings {
            bySlot[holding.slot] = holding
            let record = registry[holding.slot]
            guard record.state.isRoutable else { continue }
            let load = record.decodeLoadTokens(pageSize: pageSize, unreportedSequenceTokens: weights.unreportedSequenceTokens)
            if let current = source {
                guard (holding.pages, -load, -holding.slot) > (current.pages, -sourceLoad, -current.slot) else { continue }
            }
            source = PullSource(slot: holding.slot, worker: record.id, pages: holding.pages)
            sourceLoad = load
        }
        var candidates: [PlacementCandidate] = []
        candidates.reserveCapacity(registry.count)
        for record in registry.records where record.takesSequences && !excluding.contains(record.id) {
            let holding = bySlot[record.slot]
            candidates.append(PlacementCandidate(
                slot: record.slot, worker: record.id, cachedPages: holding?.pages ?? 0, hotCachedPages: holding?.hotPages ?? 0,
                credit: holding?.credit ?? 0,
                loadTokens: record.decodeLoadTokens(pageSize: pageSize, unreportedSequenceTokens: weights.unreportedSequenceTokens),
                roomPages: record.roomPages))
        }
        let decision = Placer.choose(
            candidates: candidates, source: source, promptTokens: promptTokens, pageSize: pageSize,
            policy: configuration.placement, weights: weights, roundRobinAfter: roundRobinAfter)
        if let decision, configuration.placement == .roundRobin { roundRobinAfter = decision.slot }
        return decision
    }
}

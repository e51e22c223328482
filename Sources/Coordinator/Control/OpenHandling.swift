import CacheProtocol

/// OpenSequence from a client: placement by where the prefix is cached, an optional pull from the
/// holder, the chosen worker's open, and the answer.
extension CoordinatorInstance {
    /// Starts an open: gives the sequence its id and places it.
    /// Refused when it comes with a sequence id or shard start; `capacity` at once when no worker
    /// has room.
    mutating func openSequence(
        _ body: OpenSequence,
        client: RoutingIdentity,
        requestID: UInt64,
        deadline: MonotonicInstant,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        guard body.sequenceID == 0, body.shardStart == 0 else {
            refuse(
                .malformed(
                    "a client opens a sequence with sequence id 0 and shard start 0, not \(body.sequenceID) and \(body.shardStart)"
                ),
                client: client,
                requestID: requestID,
                into: &out
            )
            return
        }
        let progress = OpenProgress(sequenceID: nextSequenceID, namespace: body.namespace, tokens: body.tokens)
        nextSequenceID &+= 1
        let operation = pending.begin(
            client: client,
            requestID: requestID,
            deadline: deadline,
            work: .open(progress)
        )
        attemptOpen(operation, at: now, into: &out)
    }

    /// Places the open on a worker not tried yet and sends it the pull or the open; answers the
    /// client when no worker can take it (`capacity`, or the last worker's refusal).
    mutating func attemptOpen(_ operation: UInt64, at now: MonotonicInstant, into out: inout [CoordinatorDirective]) {
        guard case .open(var progress)? = pending[operation: operation]?.work else { return }
        guard
            let (decision, keys) = place(
                tokens: progress.tokens,
                namespace: progress.namespace,
                excluding: progress.tried
            )
        else {
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
            id: progress.sequenceID,
            namespace: progress.namespace,
            phase: .opening,
            promptTokens: progress.tokens.count,
            length: 0,
            shards: [Shard(worker: decision.worker, slot: decision.slot, start: 0)]
        )
        sequences[progress.sequenceID] = record
        account(record, +1)
        if let pull = decision.pull {
            progress.stage = .pulling
            pending[operation: operation]?.work = .open(progress)
            counters.pulls += 1
            send(
                pullPages(Array(keys[pull.pages]), from: pull.source.slot),
                to: decision.worker,
                operation: operation,
                part: 0,
                timeout: configuration.pullTimeout,
                at: now,
                into: &out
            )
        } else {
            progress.stage = .opening
            pending[operation: operation]?.work = .open(progress)
            sendOpen(progress, operation: operation, at: now, into: &out)
        }
    }

    private mutating func sendOpen(
        _ progress: OpenProgress,
        operation: UInt64,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        let message = Message.openSequence(
            OpenSequence(
                sequenceID: progress.sequenceID,
                namespace: progress.namespace,
                shardStart: 0,
                tokens: progress.tokens
            )
        )
        send(message, to: progress.worker, operation: operation, part: 0, at: now, into: &out)
    }

    /// The pull's or the open's outcome. After a pull, whatever its outcome, the open follows (a
    /// failed pull only means fewer cached tokens). The open's reply completes the operation; a
    /// `capacity` or `unavailable` refusal, or a lost open, tries another worker while attempts
    /// remain; any other refusal is the answer.
    mutating func advanceOpen(
        _ operation: UInt64,
        _ outcome: PartOutcome,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        guard case .open(var progress)? = pending[operation: operation]?.work else { return }
        if progress.stage == .pulling {
            guard registry[progress.slot].state.isRoutable else {
                releaseOpen(progress, cleanUp: false, at: now, into: &out)
                progress.lastError =
                    RequestRefusal.workerUnavailable(progress.worker, state: registry[progress.slot].state).reply
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
                operation,
                with: .openSequenceReply(
                    OpenSequenceReply(sequenceID: progress.sequenceID, cachedTokens: reply.cachedTokens)
                ),
                into: &out
            )
        case .answered(let other):
            releaseOpen(progress, cleanUp: true, at: now, into: &out)
            complete(
                operation,
                refusal: .badWorkerAnswer("worker \(progress.worker) answered \(other.type) to OpenSequence"),
                into: &out
            )
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

    private mutating func retryOpen(
        _ operation: UInt64,
        _ progress: OpenProgress,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        var progress = progress
        progress.stage = .placing
        pending[operation: operation]?.work = .open(progress)
        if progress.tried.count < configuration.openAttempts {
            attemptOpen(operation, at: now, into: &out)
        } else {
            complete(
                operation,
                with: .errorReply(progress.lastError ?? RequestRefusal.noCapacity(pages: 0, workers: 0).reply),
                into: &out
            )
        }
    }

    /// Undoes a placement: the sequence leaves the table and its pages are given back; with
    /// `cleanUp`, the worker (if still routable) is told to close the sequence it may have opened.
    mutating func releaseOpen(
        _ progress: OpenProgress,
        cleanUp closeOnWorker: Bool,
        at now: MonotonicInstant,
        into out: inout [CoordinatorDirective]
    ) {
        guard progress.stage != .placing else { return }
        if let record = sequences.remove(progress.sequenceID) { account(record, -1) }
        registry[progress.slot].placedSinceHeartbeat = max(
            0,
            registry[progress.slot].placedSinceHeartbeat - progress.reservedPages
        )
        if closeOnWorker, registry[progress.slot].state.isRoutable {
            cleanUp(progress.sequenceID, on: progress.worker, at: now, into: &out)
        }
    }

    /// Chooses the worker for a prompt of `tokens` in `namespace`, among live compute workers not
    /// in `excluding`, by the configured policy; `nil` when none has room. Also returns the
    /// prompt's leading prefix keys as far as they were needed (the `prefix` policy takes them one
    /// page at a time and stops a few pages past the longest run any worker holds; the other
    /// policies take none). Keys come from `keyCache` where it holds them and from SHA-256
    /// otherwise; computed keys some worker holds are added to it.
    mutating func place(tokens: [UInt32], namespace: String, excluding: [WorkerID]) -> (PlacementDecision, [PrefixKey])?
    {
        // The last prompt's SHA-256 chain is reused for the same namespace (moved, so that it
        // stays uniquely referenced and is written in place).
        let reused = keyChain?.namespace == namespace ? keyChain.take()?.chain : nil
        var prompt = CachedPromptPrefixKeys(
            tokens: tokens,
            namespace: namespace,
            fingerprint: fingerprint,
            pageSize: configuration.spec.pageSize,
            cache: PrefixKeyCache.placeholder,
            chain: reused
        )
        // The cache moves into the prompt for this placement and back after, never copied.
        swap(&prompt.cache, &keyCache)
        let decision = place(keys: &prompt, promptTokens: tokens.count, excluding: excluding)
        swap(&prompt.cache, &keyCache)
        if let chain = prompt.chain { keyChain = (namespace, chain) }
        guard let decision else { return nil }
        return (decision, prompt.keys)
    }

    /// Holders of a prompt's first page up to which placement looks a worker up among them
    /// directly; beyond, it marks them in an array of all slots.
    static let holdersSearchedInPlace = 16

    /// `place(tokens:namespace:excluding:)` with the prompt's keys taken from `source` (read only
    /// under the `prefix` policy, and only as far as needed).
    ///
    /// Under `prefix`, the candidates are the workers holding the first page and the least-loaded
    /// worker holding none: every worker holding none has the same cached credit and pull credit,
    /// so among them the cost rule can only pick the least loaded (then the lowest id).
    mutating func place<Source: PrefixKeySource>(
        keys source: inout Source,
        promptTokens: Int,
        excluding: [WorkerID]
    ) -> PlacementDecision? {
        let pageSize = configuration.spec.pageSize
        let weights = configuration.weights
        let promptPages = (promptTokens + pageSize - 1) / pageSize
        var holdings: [PrefixHolding] = []
        if configuration.placement == .prefix {
            holdings = index.leadingRuns(credits: weights.tierCredits, keys: &source)
            source.leadingPagesHeld(holdings.reduce(0) { max($0, $1.pages) })
        }
        let policy = configuration.placement
        // The registry's placement loads, not its records: a few words per worker, in slot order.
        let (candidates, pullSource) = registry.placementLoads.withUnsafeBufferPointer { loads in
            var candidates: [PlacementCandidate] = []
            var source: PullSource?
            let unreported = weights.unreportedSequenceTokens
            guard policy == .prefix else {
                candidates.reserveCapacity(loads.count)
                for slot in loads.indices {
                    let load = loads[slot]
                    guard load.takesSequences, !excluding.contains(load.id) else { continue }
                    candidates.append(
                        PlacementCandidate(
                            slot: slot,
                            worker: load.id,
                            cachedPages: 0,
                            hotCachedPages: 0,
                            credit: 0,
                            loadTokens: load.decodeLoadTokens(pageSize: pageSize, unreportedSequenceTokens: unreported),
                            roomPages: load.roomPages
                        )
                    )
                }
                return (candidates, source)
            }
            candidates.reserveCapacity(holdings.count + 1)
            var sourceLoad = 0
            for run in holdings {
                let load = loads[run.slot]
                guard load.isRoutable else { continue }
                let runLoad = load.decodeLoadTokens(pageSize: pageSize, unreportedSequenceTokens: unreported)
                if load.takesSequences, !excluding.contains(load.id) {
                    candidates.append(
                        PlacementCandidate(
                            slot: run.slot,
                            worker: load.id,
                            cachedPages: run.pages,
                            hotCachedPages: run.hotPages,
                            credit: run.credit,
                            loadTokens: runLoad,
                            roomPages: load.roomPages
                        )
                    )
                }
                if let current = source {
                    guard (run.pages, -runLoad, -run.slot) > (current.pages, -sourceLoad, -current.slot) else {
                        continue
                    }
                }
                source = PullSource(slot: run.slot, worker: load.id, pages: run.pages)
                sourceLoad = runLoad
            }
            // Holders are few: looked up in `holdings` directly, or marked when there are many.
            let holderMarks: [Bool]
            if holdings.count > Self.holdersSearchedInPlace {
                var marks = [Bool](repeating: false, count: loads.count)
                for run in holdings { marks[run.slot] = true }
                holderMarks = marks
            } else {
                holderMarks = []
            }
            var idle: PlacementCandidate?
            for slot in loads.indices {
                let load = loads[slot]
                guard load.takesSequences, load.roomPages >= promptPages else { continue }
                let slotLoad = load.decodeLoadTokens(pageSize: pageSize, unreportedSequenceTokens: unreported)
                if let best = idle, (best.loadTokens, best.worker) <= (slotLoad, load.id) { continue }
                let isHolder =
                    holderMarks.isEmpty ? holdings.contains { $0.slot == slot } : holderMarks[slot]
                guard !isHolder, !excluding.contains(load.id) else { continue }
                idle = PlacementCandidate(
                    slot: slot,
                    worker: load.id,
                    cachedPages: 0,
                    hotCachedPages: 0,
                    credit: 0,
                    loadTokens: slotLoad,
                    roomPages: load.roomPages
                )
            }
            if let idle { candidates.append(idle) }
            return (candidates, source)
        }
        guard
            let decision = Placer.choose(
                candidates: candidates,
                source: pullSource,
                promptTokens: promptTokens,
                pageSize: pageSize,
                policy: policy,
                weights: weights,
                roundRobinAfter: roundRobinAfter
            )
        else { return nil }
        if policy == .roundRobin { roundRobinAfter = decision.slot }
        return decision
    }
}

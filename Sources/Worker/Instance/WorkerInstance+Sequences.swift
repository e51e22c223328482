import CacheProtocol
import Kernels

/// Sequences: open, prefill, decode, truncate, close.
extension WorkerInstance {
    /// Refuses `what` on a store worker.
    func requireCompute(_ what: MessageType) throws(ServiceError) {
        guard role == .compute else { throw .badRequest("\(what) needs a compute worker; this one is a store") }
    }

    /// Opens a sequence on the prompt's pages from the shard start. When leading pages the prefix
    /// could use lie below the hot pool and have not been fetched yet (`fetched` false), asks for
    /// them first; `resume` admits what comes back and opens with `fetched` true.
    mutating func open(
        _ body: OpenSequence,
        requestID: UInt64,
        fetched: Bool,
        effects: inout [WorkerDirective]
    ) throws(ServiceError) -> [WorkerDirective] {
        try requireCompute(.openSequence)
        guard !isDraining else { throw .unavailable("worker \(workerID) is draining") }
        let pageSize = spec.pageSize
        let start = Int(body.shardStart)
        guard start % pageSize == 0, start <= body.tokens.count else {
            throw .badRequest(
                "shard start \(start) must be a multiple of \(pageSize) and at most the \(body.tokens.count) tokens"
            )
        }
        let keys = Array(
            PrefixKey.chain(
                namespace: body.namespace,
                fingerprint: fingerprint,
                tokens: body.tokens,
                pageSize: pageSize
            ).dropFirst(start / pageSize)
        )
        if !fetched {
            let below = leadingKeysBelow(keys)
            if !below.isEmpty {
                return [
                    .fetchFromLowerTiers(
                        below,
                        then: PendingRequest(requestID: requestID, step: .open(body, asked: below))
                    )
                ]
            }
        }
        let requested = body.sequenceID == 0 ? nil : SequenceID(rawValue: body.sequenceID)
        let opened: (id: SequenceID, cachedTokens: Int)
        do throws(StorageError) {
            opened = try manager.open(prefixKeys: keys, requestedID: requested)
        } catch {
            throw ServiceError(error)
        }
        shards[opened.id] = SequenceShard(
            start: start,
            keys: keys,
            namespace: body.namespace,
            promptTokens: body.tokens.count
        )
        counters.cachedTokensServed += UInt64(opened.cachedTokens)
        return reply(
            requestID,
            .openSequenceReply(
                OpenSequenceReply(sequenceID: opened.id.rawValue, cachedTokens: UInt32(start + opened.cachedTokens))
            )
        )
    }

    /// The keys of `chain` that lie below the hot pool, from the start up to the first key that is
    /// neither hot nor below (a prefix cannot reach past it), each once.
    func leadingKeysBelow(_ chain: [PrefixKey]) -> [PrefixKey] {
        var below: [PrefixKey] = []
        var seen = Set<PrefixKey>()
        for key in chain where !isHot(key) {
            guard manager.cache.lowerTierKeys.contains(key), seen.insert(key).inserted else { break }
            below.append(key)
        }
        return below
    }

    /// The open sequence `id`, its shard and state; `unknownSequence` when none is open.
    func lookUp(_ id: UInt64) throws(ServiceError) -> (SequenceID, SequenceShard, SequenceState) {
        let sequence = SequenceID(rawValue: id)
        guard let shard = shards[sequence], let state = try? manager.sequence(sequence) else {
            throw .unknownSequence(id)
        }
        return (sequence, shard, state)
    }

    /// `layer` as an index, refused when the model has no such layer.
    func checkLayer(_ layer: UInt32) throws(ServiceError) -> Int {
        guard Int(layer) < spec.layers else {
            throw .badRequest("layer \(layer) is outside the model's \(spec.layers) layers")
        }
        return Int(layer)
    }

    /// Checks q `[rows, Hq, D]` and, when present, k and v `[rows, Hkv, D]`.
    func checkShapes(_ input: AttentionInput, rows: Int) throws(ServiceError) {
        let q = [rows, spec.queryHeads, spec.headDim]
        guard input.q.shape == q else { throw .badRequest("q has shape \(input.q.shape), expected \(q)") }
        let kv = [rows, spec.kvHeads, spec.headDim]
        if let k = input.k, k.shape != kv { throw .badRequest("k and v have shape \(k.shape), expected \(kv)") }
    }

    /// Refuses a request whose tensor `name` (`width` floats a row) holds NaN or an infinity, naming
    /// the tensor and the row; `row` describes the row (its position, its sequence).
    func requireFinite(
        _ values: [Float],
        tensor name: String,
        width: Int,
        row describe: (Int) -> String
    ) throws(ServiceError) {
        guard let index = FiniteCheck.firstNonFinite(in: values) else { return }
        let row = index / width
        throw .badRequest("\(name) row \(row) (\(describe(row))) holds \(values[index]); nothing was appended")
    }

    /// Appends a prefill's keys and values to its layer and returns the job that computes the
    /// causal attention of its tokens over the sequence's tokens so far.
    mutating func prefill(
        _ body: Prefill,
        requestID: UInt64,
        effects: inout [WorkerDirective]
    ) throws(ServiceError) -> AttentionJob {
        try requireCompute(.prefill)
        let (id, shard, state) = try lookUp(body.sequenceID)
        let subject = "prefill of sequence \(body.sequenceID)"
        do throws(ServiceError) {
            let layer = try checkLayer(body.layer)
            let rows = body.tokenCount
            guard rows >= 1 else { throw .badRequest("no tokens") }
            try checkShapes(body.input, rows: rows)
            guard let k = body.input.k, let v = body.input.v else { throw .badRequest("k and v are missing") }
            let position = shard.start + state.layerLengths[layer]
            guard Int(body.startPosition) == position else {
                throw .badRequest(
                    "layer \(layer) starts at \(body.startPosition), the sequence's length there is \(position)"
                )
            }
            let q = body.input.q.floatValues()
            let keys = k.floatValues()
            let values = v.floatValues()
            for (name, tensor, heads) in [
                ("q", q, spec.queryHeads), ("k", keys, spec.kvHeads), ("v", values, spec.kvHeads),
            ] {
                try requireFinite(tensor, tensor: name, width: heads * spec.headDim) { "position \(position + $0)" }
            }
            try append(id, layer: layer, keys: keys, values: values, effects: &effects)
            let call = AttentionCall(
                q: q,
                queryLength: rows,
                queryHeads: spec.queryHeads,
                pool: try pool(layer: layer),
                blockTables: [try sequenceField(\.pages, of: id)],
                kvLengths: [state.layerLengths[layer] + rows],
                options: AttentionOptions(causal: true, threads: threads),
                sequenceIDs: [body.sequenceID],
                firstRows: [0]
            )
            return AttentionJob(
                requestID: requestID,
                answer: .prefill(sequenceID: body.sequenceID, layer: body.layer),
                rows: rows,
                queryHeads: spec.queryHeads,
                headDim: spec.headDim,
                calls: [call],
                refusalSubject: subject
            )
        } catch {
            throw error.about(subject)
        }
    }

    /// Appends one decode step's keys and values (when it has them) to every entry's sequence, all or
    /// none, and returns the job that computes its attention: one kernel call per query-token
    /// count. Every refusal names the sequences it concerns: an entry's own problem (unknown,
    /// repeated, non-finite rows, its attention) names its sequence id, a problem of the whole step
    /// (layer, shapes, capacity) every sequence of the step.
    mutating func decode(
        _ body: Decode,
        requestID: UInt64,
        effects: inout [WorkerDirective]
    ) throws(ServiceError) -> AttentionJob {
        /// The step as a refusal names it: its layer and sequence ids (the first 16 of a longer batch).
        func step() -> String {
            let ids = body.entries.prefix(16).map { String($0.sequenceID) }.joined(separator: ", ")
            let more = body.entries.count > 16 ? ", … (\(body.entries.count) in all)" : ""
            return "decode of layer \(body.layer) for sequence\(body.entries.count == 1 ? "" : "s") \(ids)\(more)"
        }
        let layer: Int
        let rows = body.input.rows
        do throws(ServiceError) {
            try requireCompute(.decode)
            layer = try checkLayer(body.layer)
            try checkShapes(body.input, rows: rows)
        } catch {
            throw error.about(step())
        }
        var seen = Set<UInt64>()
        var firstRow: [Int] = []
        var row = 0
        for entry in body.entries {
            guard seen.insert(entry.sequenceID).inserted else {
                throw .badRequest("sequence \(entry.sequenceID) appears twice in one decode step")
            }
            _ = try lookUp(entry.sequenceID)
            firstRow.append(row)
            row += Int(entry.queryTokens)
        }
        /// The row's query token and sequence.
        func describe(_ row: Int) -> String {
            let index = (firstRow.lastIndex { $0 <= row }) ?? 0
            return "query token \(row - firstRow[index]) of sequence \(body.entries[index].sequenceID)"
        }
        let q = body.input.q.floatValues()
        let keys = body.input.k?.floatValues()
        let values = body.input.v?.floatValues()
        let queryWidth = spec.queryHeads * spec.headDim
        let width = spec.kvHeads * spec.headDim
        do throws(ServiceError) {
            try requireFinite(q, tensor: "q", width: queryWidth, row: describe)
            if let keys, let values {
                try requireFinite(keys, tensor: "k", width: width, row: describe)
                try requireFinite(values, tensor: "v", width: width, row: describe)
            }
        } catch {
            throw error.about("decode of layer \(body.layer)")
        }
        if let keys, let values {
            var needed = 0
            for entry in body.entries {
                do throws(ServiceError) {
                    needed += try pagesToAppend(
                        SequenceID(rawValue: entry.sequenceID),
                        layer: layer,
                        tokens: Int(entry.queryTokens)
                    )
                } catch {
                    throw error.about(sequence: entry.sequenceID)
                }
            }
            let available = manager.allocator.freeCount + manager.cache.idleCount
            guard needed <= available else {
                throw ServiceError.capacity("the step needs \(needed) pages, \(available) are free or evictable").about(
                    step()
                )
            }
            for (index, entry) in body.entries.enumerated() {
                let range = firstRow[index] * width..<(firstRow[index] + Int(entry.queryTokens)) * width
                do throws(ServiceError) {
                    try append(
                        SequenceID(rawValue: entry.sequenceID),
                        layer: layer,
                        keys: Array(keys[range]),
                        values: Array(values[range]),
                        effects: &effects
                    )
                } catch {
                    throw error.about(sequence: entry.sequenceID)
                }
            }
        }
        let pool: KVPagePool
        do throws(ServiceError) {
            pool = try self.pool(layer: layer)
        } catch {
            throw error.about(step())
        }
        var calls: [AttentionCall] = []
        let groups = Dictionary(grouping: body.entries.indices, by: { body.entries[$0].queryTokens })
        for (queryTokens, members) in groups.sorted(by: { $0.key < $1.key }) {
            let n = Int(queryTokens)
            var groupQ: [Float] = []
            groupQ.reserveCapacity(members.count * n * queryWidth)
            var tables: [[Int]] = []
            var lengths: [Int] = []
            for index in members {
                let id = SequenceID(rawValue: body.entries[index].sequenceID)
                groupQ.append(contentsOf: q[firstRow[index] * queryWidth..<(firstRow[index] + n) * queryWidth])
                do throws(ServiceError) {
                    tables.append(try sequenceField(\.pages, of: id))
                    lengths.append(try sequenceField(\.layerLengths, of: id)[layer])
                } catch {
                    throw error.about(sequence: id.rawValue)
                }
            }
            // With k and v the entries' new tokens attend causally among themselves; without, the
            // queries belong to tokens past this shard and see every token it holds.
            calls.append(
                AttentionCall(
                    q: groupQ,
                    queryLength: n,
                    queryHeads: spec.queryHeads,
                    pool: pool,
                    blockTables: tables,
                    kvLengths: lengths,
                    options: AttentionOptions(causal: body.input.k != nil, threads: threads),
                    sequenceIDs: members.map { body.entries[$0].sequenceID },
                    firstRows: members.map { firstRow[$0] }
                )
            )
        }
        return AttentionJob(
            requestID: requestID,
            answer: .decode(layer: body.layer),
            rows: rows,
            queryHeads: spec.queryHeads,
            headDim: spec.headDim,
            calls: calls,
            refusalSubject: nil
        )
    }

    /// A copy of `layer`'s page pool for a kernel call (copy-on-write: see `AttentionCall.pool`).
    func pool(layer: Int) throws(ServiceError) -> KVPagePool {
        do throws(StorageError) {
            return try manager.store.pool(layer: layer)
        } catch {
            throw ServiceError(error)
        }
    }

    /// Pages an append of `tokens` to `layer` takes from the pool: new pages, and copies of shared
    /// pages the tokens land in.
    func pagesToAppend(_ id: SequenceID, layer: Int, tokens: Int) throws(ServiceError) -> Int {
        let pages = try sequenceField(\.pages, of: id)
        let start = try sequenceField(\.layerLengths, of: id)[layer]
        let needed = (start + tokens + spec.pageSize - 1) / spec.pageSize
        var count = max(0, needed - pages.count)
        for index in start / spec.pageSize..<min(pages.count, needed) {
            if (try? manager.allocator.referenceCount(of: pages[index])) ?? 1 > 1 { count += 1 }
        }
        return count
    }

    /// A field of an open sequence's state.
    func sequenceField<T>(_ field: KeyPath<SequenceState, T>, of id: SequenceID) throws(ServiceError) -> T {
        do throws(StorageError) {
            return try manager.sequence(id)[keyPath: field]
        } catch {
            throw ServiceError(error)
        }
    }

    /// Appends tokens to one layer of a sequence; the pages evicted to make room go to `effects`.
    mutating func append(
        _ id: SequenceID,
        layer: Int,
        keys: [Float],
        values: [Float],
        effects: inout [WorkerDirective]
    ) throws(ServiceError) {
        if let end = shards[id]?.sealedAt {
            throw .badRequest(
                "sequence \(id.rawValue): this worker's shard ends at \(end), the sequence goes on on another worker"
            )
        }
        let evictions: [EvictionDirective]
        do throws(StorageError) {
            evictions = try manager.append(id, layer: layer, keys: keys, values: values)
        } catch {
            throw ServiceError(error)
        }
        record(evictions, effects: &effects)
    }

    /// Shortens the shard to the absolute length `body.length`, in every layer: at least the shard's
    /// start, at most the length every layer holds (the shortest layer's); tokens longer layers hold
    /// past it are dropped too.
    mutating func truncate(_ body: Truncate) throws(ServiceError) {
        try requireCompute(.truncate)
        let (id, shard, state) = try lookUp(body.sequenceID)
        let length = Int(body.length) - shard.start
        guard length >= 0 else {
            throw .badRequest(
                "sequence \(body.sequenceID): cannot truncate to \(body.length) tokens, the shard starts at \(shard.start)"
            )
        }
        guard length <= state.length else {
            throw .badRequest(
                "sequence \(body.sequenceID): cannot truncate to \(body.length) tokens, every layer holds only \(shard.start + state.length)"
            )
        }
        do throws(StorageError) {
            try manager.truncate(id, to: length)
        } catch {
            throw ServiceError(error)
        }
        // Truncated, the shard is the sequence's tail again (the coordinator closes later ones).
        shards[id]?.sealedAt = nil
    }

    /// Seals a shard: the sequence goes on past `body.end` on another worker; refused when the
    /// shard holds a token past it in any layer.
    mutating func seal(_ body: SealShard) throws(ServiceError) {
        try requireCompute(.sealShard)
        let (id, shard, state) = try lookUp(body.sequenceID)
        let held = shard.start + (state.layerLengths.max() ?? 0)
        guard held <= Int(body.end), Int(body.end) >= shard.start else {
            throw .badRequest(
                "sequence \(body.sequenceID): cannot seal its shard at \(body.end), it holds tokens \(shard.start)..<\(held)"
            )
        }
        shards[id]?.sealedAt = Int(body.end)
    }

    /// Closes a sequence, first storing its full prompt pages that every layer holds when
    /// `body.commit`; says so in `effects` when it was the last one open.
    mutating func close(_ body: CloseSequence, effects: inout [WorkerDirective]) throws(ServiceError) {
        try requireCompute(.closeSequence)
        let (id, shard, state) = try lookUp(body.sequenceID)
        do throws(StorageError) {
            if body.commit {
                try manager.commit(id, pageKeys: Array(shard.keys.prefix(state.length / spec.pageSize)))
            }
            try manager.free(id)
        } catch {
            throw ServiceError(error)
        }
        shards[id] = nil
        if shards.isEmpty { effects.append(.lastSequenceClosed) }
    }
}

import CacheProtocol
import Kernels
import Logging

/// The worker's protocol logic, free of sockets: takes a decoded request and returns its answer
/// and the cache events to publish. Every request is checked against the model spec, the role and
/// the sequence's state; a refusal is an `ErrorReply` with the matching code and changes nothing
/// the reply does not report.
///
/// Pages live hot in a `SequenceManager`; a prefix lookup that misses hot continues in the
/// `LowerTiers` (pages brought back are admitted hot), and pages evicted from the hot pool are
/// demoted to them. The events describe the set of keys the worker holds in any tier: a key
/// demoted to a lower tier has not left, a key promoted has not arrived.
actor WorkerService {
    /// The model every request and page must match.
    let spec: ModelSpec
    /// Compute (sequences and pages) or store (pages only).
    let role: WorkerRole
    /// The id this worker registers and reports under.
    let workerID: UInt64
    /// The status heartbeats report, published after every request, and whether a drain has ended.
    nonisolated let statusBoard: WorkerStatusBoard
    private let layout: PageLayout
    private let fingerprint: ModelFingerprint
    private let tiers: any LowerTiers
    private let peers: any PagePeers
    private let codec: PageCodec
    private let threads: Int?
    private let logger: Logger
    private var manager: SequenceManager
    private var shards: [SequenceID: Shard] = [:]
    private var held: Set<PrefixKey> = []
    /// Keys removed from the lower tiers by request, whose removal the next events report.
    private var removedBelow: [PrefixKey] = []
    private var lastEvent: UInt64 = 0
    private var draining = false
    private var counters = Counters()

    /// The part of a prompt a sequence on this worker holds.
    private struct Shard {
        /// Token position where the shard starts (a multiple of the page size).
        var start: Int
        /// Keys of the shard's full prompt pages, in order.
        var keys: [PrefixKey]
    }

    /// Running totals reported by `StatsRequest`.
    private struct Counters {
        var requests: UInt64 = 0
        var errors: UInt64 = 0
        var prefillTokens: UInt64 = 0
        var decodeRows: UInt64 = 0
        var cachedTokensServed: UInt64 = 0
        var promoted: UInt64 = 0
        var demoted: UInt64 = 0
    }

    /// A service for `spec` with a hot pool of `pageCount` pages; `threads` caps the kernels'
    /// threads (`nil`: every core).
    init(
        spec: ModelSpec, role: WorkerRole, workerID: UInt64, pageCount: Int, tiers: any LowerTiers,
        peers: any PagePeers, threads: Int? = nil, logger: Logger
    ) throws(StorageError) {
        let geometry = try PageGeometry(
            layers: spec.layers, kvHeads: spec.kvHeads, headDim: spec.headDim, pageSize: spec.pageSize,
            storage: spec.kvStorage)
        do {
            layout = try PageLayout(
                layers: spec.layers, pageSize: spec.pageSize, kvHeads: spec.kvHeads, headDim: spec.headDim,
                storage: spec.kvStorage)
        } catch {
            throw .invalidGeometry(error.description)
        }
        manager = try SequenceManager(geometry: geometry, pageCount: pageCount, evictionPolicy: .demote)
        self.spec = spec
        self.role = role
        self.workerID = workerID
        self.statusBoard = WorkerStatusBoard(load: CoordinatorLink.Status(liveSequences: 0, freePages: pageCount, cachedPages: 0))
        self.fingerprint = spec.fingerprint
        self.tiers = tiers
        self.peers = peers
        self.codec = PageCodec()
        self.threads = threads
        self.logger = logger
    }

    /// Hot pages neither used nor cached.
    var freePageCount: Int { manager.allocator.freeCount }
    /// Open sequences.
    var liveSequenceCount: Int { shards.count }
    /// Takes the keys the lower tiers hold before serving starts (a disk tier rebuilt from its data
    /// directory) as held: the coordinator learns them by snapshot, and their later loss is announced.
    func adoptLowerTierKeys() async {
        let keys = await tiers.keys()
        manager.lowerTiersHold(keys: keys)
        held.formUnion(keys)
        publishStatus()
    }

    /// Keys held in any tier, as the events have announced them.
    var heldKeyCount: Int { held.count }

    /// Answers one request. Replies and errors carry the request's id. A message the worker does not
    /// handle (a coordinator's request, or any reply type such as `Ack` or `ErrorReply`) is answered
    /// `ErrorReply` `badRequest`; only `CacheEvent` is never answered.
    func handle(_ request: Envelope) async -> ServiceReply {
        defer { publishStatus() }
        counters.requests += 1
        let message: Message
        do throws(ServiceError) {
            guard let answer = try await answer(request.message) else {
                return ServiceReply(reply: nil, events: [])
            }
            message = answer
        } catch {
            counters.errors += 1
            logger.debug("refused \(request.message.type) #\(request.requestID): \(error)")
            message = .errorReply(error.reply)
        }
        return ServiceReply(reply: Envelope(requestID: request.requestID, message: message), events: await takeEvents())
    }

    /// Shows the heartbeat's figures and the drain state on `statusBoard`.
    private func publishStatus() {
        statusBoard.publish(
            CoordinatorLink.Status(liveSequences: shards.count, freePages: manager.allocator.freeCount, cachedPages: held.count),
            draining: draining)
    }

    /// The answer to `message`, or nil for a message that is never answered.
    private func answer(_ message: Message) async throws(ServiceError) -> Message? {
        switch message {
        case .openSequence(let body): return .openSequenceReply(try await open(body))
        case .prefill(let body): return .prefillReply(try prefill(body))
        case .decode(let body): return .decodeReply(try decode(body))
        case .truncate(let body):
            try truncate(body)
            return .ack(Ack())
        case .closeSequence(let body):
            try close(body)
            return .ack(Ack())
        case .pagePut(let body):
            try await put(body.pages)
            return .ack(Ack())
        case .pageGet(let body): return .pageGetReply(PageGetReply(pages: try await get(body.keys)))
        case .pageContains(let body): return .pageContainsReply(PageContainsReply(present: await contains(body.keys)))
        case .pageRemove(let body):
            try await remove(body.keys)
            return .ack(Ack())
        case .pullPages(let body): return .pullPagesReply(try await pull(body))
        case .prefetchPages(let body):
            try requireCompute(.prefetchPages)
            await bringHot(body.keys)
            return .prefetchPagesReply(PrefetchPagesReply(hot: body.keys.map { manager.cache.page(for: $0) != nil }))
        case .snapshotRequest: return .snapshotReply(await snapshot())
        case .statsRequest: return .statsReply(await stats())
        case .drain(let body):
            guard body.workerID == workerID else {
                throw .badRequest("drain names worker \(body.workerID), this is worker \(workerID)")
            }
            draining = true
            return .ack(Ack())
        case .cacheEvent:
            return nil
        case .registerWorker, .heartbeat, .deregisterWorker:
            throw .badRequest("\(message.type) is for the coordinator, not a worker")
        case .registerWorkerReply, .ack, .errorReply, .openSequenceReply, .prefillReply, .decodeReply,
             .pageGetReply, .pageContainsReply, .pullPagesReply, .prefetchPagesReply, .snapshotReply, .statsReply:
            throw .badRequest("\(message.type) is a reply; a worker takes no replies on its endpoint")
        }
    }

    // MARK: Sequences

    private func requireCompute(_ what: MessageType) throws(ServiceError) {
        guard role == .compute else { throw .badRequest("\(what) needs a compute worker; this one is a store") }
    }

    private func open(_ body: OpenSequence) async throws(ServiceError) -> OpenSequenceReply {
        try requireCompute(.openSequence)
        guard !draining else { throw .unavailable("worker \(workerID) is draining") }
        let pageSize = spec.pageSize
        let start = Int(body.shardStart)
        guard start % pageSize == 0, start <= body.tokens.count else {
            throw .badRequest("shard start \(start) must be a multiple of \(pageSize) and at most the \(body.tokens.count) tokens")
        }
        let keys = Array(PrefixKey.chain(
            namespace: body.namespace, fingerprint: fingerprint, tokens: body.tokens, pageSize: pageSize
        ).dropFirst(start / pageSize))
        await bringHot(Array(keys.drop { manager.cache.page(for: $0) != nil }))
        let requested = body.sequenceID == 0 ? nil : SequenceID(rawValue: body.sequenceID)
        let opened: (id: SequenceID, cachedTokens: Int)
        do throws(StorageError) {
            opened = try manager.open(prefixKeys: keys, requestedID: requested)
        } catch {
            throw ServiceError(error)
        }
        shards[opened.id] = Shard(start: start, keys: keys)
        counters.cachedTokensServed += UInt64(opened.cachedTokens)
        return OpenSequenceReply(sequenceID: opened.id.rawValue, cachedTokens: UInt32(start + opened.cachedTokens))
    }

    /// Brings every key of `keys` that is not hot back from the lower tiers (fetched together, remote
    /// ones in parallel) into the hot pool, as far as it can be admitted; keys the tiers turn out to
    /// have lost leave the worker.
    private func bringHot(_ keys: [PrefixKey]) async {
        var seen = Set<PrefixKey>()
        let cold = keys.filter { manager.cache.page(for: $0) == nil && seen.insert($0).inserted }
        guard !cold.isEmpty else { return }
        let found = await tiers.prefetch(keys: cold)
        manager.lowerTiersLost(keys: Array(Set(cold).subtracting(found.map(\.key))))
        for (key, page) in found { _ = await admit(promoted: page, key: key) }
    }

    /// Brings `key` back hot from a lower tier; false when no tier has it or it cannot be admitted.
    private func promote(_ key: PrefixKey) async -> Bool {
        guard let page = await tiers.promote(key: key) else {
            manager.lowerTiersLost(keys: [key])
            return false
        }
        return await admit(promoted: page, key: key)
    }

    /// Admits a page brought back from a lower tier into the hot pool; false (the page handed back
    /// to the tiers) when it cannot be admitted.
    private func admit(promoted page: RawPage, key: PrefixKey) async -> Bool {
        guard page.layout == layout else {
            logger.warning("lower tiers returned page \(key) of layout \(page.layout), expected \(layout)")
            manager.lowerTiersLost(keys: [key])
            return false
        }
        do throws(StorageError) {
            let directives = try manager.admit(key: key, pageBytes: page.bytes)
            counters.promoted += 1
            await apply(directives)
            return true
        } catch {
            manager.lowerTiersLost(keys: await tiers.demote(key: key, page: page))
            return false
        }
    }

    private func lookUp(_ id: UInt64) throws(ServiceError) -> (SequenceID, Shard, SequenceState) {
        let sequence = SequenceID(rawValue: id)
        guard let shard = shards[sequence], let state = try? manager.sequence(sequence) else {
            throw .unknownSequence(id)
        }
        return (sequence, shard, state)
    }

    private func checkLayer(_ layer: UInt32) throws(ServiceError) -> Int {
        guard Int(layer) < spec.layers else { throw .badRequest("layer \(layer) is outside the model's \(spec.layers) layers") }
        return Int(layer)
    }

    /// Checks q `[rows, Hq, D]` and, when present, k and v `[rows, Hkv, D]`.
    private func checkShapes(_ input: AttentionInput, rows: Int) throws(ServiceError) {
        let q = [rows, spec.queryHeads, spec.headDim]
        guard input.q.shape == q else { throw .badRequest("q has shape \(input.q.shape), expected \(q)") }
        let kv = [rows, spec.kvHeads, spec.headDim]
        if let k = input.k, k.shape != kv { throw .badRequest("k and v have shape \(k.shape), expected \(kv)") }
    }

    /// Refuses a request whose tensor `name` (`width` floats a row) holds NaN or an infinity, naming
    /// the tensor and the row; `row` describes the row (its position, its sequence).
    private func requireFinite(
        _ values: [Float], tensor name: String, width: Int, row describe: (Int) -> String
    ) throws(ServiceError) {
        guard let index = FiniteCheck.firstNonFinite(in: values) else { return }
        let row = index / width
        throw .badRequest("\(name) row \(row) (\(describe(row))) holds \(values[index]); nothing was appended")
    }

    private func prefill(_ body: Prefill) throws(ServiceError) -> PrefillReply {
        try requireCompute(.prefill)
        let (id, shard, state) = try lookUp(body.sequenceID)
        do throws(ServiceError) {
            let layer = try checkLayer(body.layer)
            let rows = body.tokenCount
            guard rows >= 1 else { throw .badRequest("no tokens") }
            try checkShapes(body.input, rows: rows)
            guard let k = body.input.k, let v = body.input.v else { throw .badRequest("k and v are missing") }
            let position = shard.start + state.layerLengths[layer]
            guard Int(body.startPosition) == position else {
                throw .badRequest("layer \(layer) starts at \(body.startPosition), the sequence's length there is \(position)")
            }
            let q = body.input.q.floatValues()
            let keys = k.floatValues()
            let values = v.floatValues()
            for (name, tensor, heads) in [("q", q, spec.queryHeads), ("k", keys, spec.kvHeads), ("v", values, spec.kvHeads)] {
                try requireFinite(tensor, tensor: name, width: heads * spec.headDim) { "position \(position + $0)" }
            }
            try append(id, layer: layer, keys: keys, values: values)
            let length = state.layerLengths[layer] + rows
            let pages = try sequenceField(\.pages, of: id)
            let result = try attention(
                q: q, queryLength: rows, layer: layer, sequences: [body.sequenceID], blockTables: [pages],
                kvLengths: [length], causal: true)
            counters.prefillTokens += UInt64(rows)
            return PrefillReply(sequenceID: body.sequenceID, layer: body.layer, result: try wireOutput(result, rows: rows))
        } catch {
            throw error.about("prefill of sequence \(body.sequenceID)")
        }
    }

    /// One decode step. Every refusal names the sequences it concerns: an entry's own problem
    /// (unknown, repeated, non-finite rows, its attention) names its sequence id, a problem of the
    /// whole step (layer, shapes, capacity) every sequence of the step.
    private func decode(_ body: Decode) throws(ServiceError) -> DecodeReply {
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
                    needed += try pagesToAppend(SequenceID(rawValue: entry.sequenceID), layer: layer, tokens: Int(entry.queryTokens))
                } catch {
                    throw error.about(sequence: entry.sequenceID)
                }
            }
            let available = manager.allocator.freeCount + manager.cache.idleCount
            guard needed <= available else {
                throw ServiceError.capacity("the step needs \(needed) pages, \(available) are free or evictable").about(step())
            }
            for (index, entry) in body.entries.enumerated() {
                let range = firstRow[index] * width..<(firstRow[index] + Int(entry.queryTokens)) * width
                do throws(ServiceError) {
                    try append(SequenceID(rawValue: entry.sequenceID), layer: layer, keys: Array(keys[range]), values: Array(values[range]))
                } catch {
                    throw error.about(sequence: entry.sequenceID)
                }
            }
        }
        var output = [Float](repeating: 0, count: rows * queryWidth)
        var lse = [Float](repeating: 0, count: rows * spec.queryHeads)
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
            let result = try attention(
                q: groupQ, queryLength: n, layer: layer, sequences: members.map { body.entries[$0].sequenceID },
                blockTables: tables, kvLengths: lengths, causal: body.input.k != nil)
            for (slot, index) in members.enumerated() {
                let source = slot * n
                output.replaceSubrange(
                    firstRow[index] * queryWidth..<(firstRow[index] + n) * queryWidth,
                    with: result.output[source * queryWidth..<(source + n) * queryWidth])
                lse.replaceSubrange(
                    firstRow[index] * spec.queryHeads..<(firstRow[index] + n) * spec.queryHeads,
                    with: result.logSumExp[source * spec.queryHeads..<(source + n) * spec.queryHeads])
            }
        }
        counters.decodeRows += UInt64(rows)
        do throws(ServiceError) {
            return DecodeReply(layer: body.layer, result: try wireOutput(AttentionResult(output: output, logSumExp: lse), rows: rows))
        } catch {
            throw error.about(step())
        }
    }

    /// Pages an append of `tokens` to `layer` takes from the pool: new pages, and copies of shared
    /// pages the tokens land in.
    private func pagesToAppend(_ id: SequenceID, layer: Int, tokens: Int) throws(ServiceError) -> Int {
        let pages = try sequenceField(\.pages, of: id)
        let start = try sequenceField(\.layerLengths, of: id)[layer]
        let needed = (start + tokens + spec.pageSize - 1) / spec.pageSize
        var count = max(0, needed - pages.count)
        for index in start / spec.pageSize..<min(pages.count, needed) {
            if (try? manager.allocator.referenceCount(of: pages[index])) ?? 1 > 1 { count += 1 }
        }
        return count
    }

    private func sequenceField<T>(_ field: KeyPath<SequenceState, T>, of id: SequenceID) throws(ServiceError) -> T {
        do throws(StorageError) {
            return try manager.sequence(id)[keyPath: field]
        } catch {
            throw ServiceError(error)
        }
    }

    private func append(_ id: SequenceID, layer: Int, keys: [Float], values: [Float]) throws(ServiceError) {
        let directives: [EvictionDirective]
        do throws(StorageError) {
            directives = try manager.append(id, layer: layer, keys: keys, values: values)
        } catch {
            throw ServiceError(error)
        }
        pendingDirectives.append(contentsOf: directives)
    }

    /// Evictions made by synchronous steps, handed to the tiers before the reply's events are taken.
    private var pendingDirectives: [EvictionDirective] = []

    /// Paged attention of `layer` for a batch of sequences (`sequences` their ids, in batch order).
    /// A kernel refusal about one batch entry names that entry's sequence id; one about the whole
    /// call names them all.
    private func attention(
        q: [Float], queryLength: Int, layer: Int, sequences: [UInt64], blockTables: [[Int]], kvLengths: [Int], causal: Bool
    ) throws(ServiceError) -> AttentionResult {
        let pool: KVPagePool
        do throws(StorageError) {
            pool = try manager.store.pool(layer: layer)
        } catch {
            throw ServiceError(error)
        }
        do throws(KernelError) {
            return try PagedAttention.run(
                q: q, queryLength: queryLength, queryHeads: spec.queryHeads, pool: pool, blockTables: blockTables,
                kvLengths: kvLengths, options: AttentionOptions(causal: causal, threads: threads))
        } catch {
            if let index = error.sequence, sequences.indices.contains(index) {
                throw .badRequest("sequence \(sequences[index]): attention: \(error.detail)")
            }
            let names = sequences.prefix(16).map(String.init).joined(separator: ", ")
                + (sequences.count > 16 ? ", … (\(sequences.count) in all)" : "")
            throw .badRequest("attention of sequence\(sequences.count == 1 ? "" : "s") \(names): \(error.detail)")
        }
    }

    private func wireOutput(_ result: AttentionResult, rows: Int) throws(ServiceError) -> AttentionOutput {
        do throws(WireError) {
            return try AttentionOutput(
                output: WireTensor(f32: result.output, shape: [rows, spec.queryHeads, spec.headDim]),
                lse: WireTensor(f32: result.logSumExp, shape: [rows, spec.queryHeads]))
        } catch {
            throw .internal("attention output: \(error)")
        }
    }

    /// Shortens the shard to the absolute length `body.length`, in every layer: at least the shard's
    /// start, at most the length every layer holds (the shortest layer's); tokens longer layers hold
    /// past it are dropped too.
    private func truncate(_ body: Truncate) throws(ServiceError) {
        try requireCompute(.truncate)
        let (id, shard, state) = try lookUp(body.sequenceID)
        let length = Int(body.length) - shard.start
        guard length >= 0 else {
            throw .badRequest("sequence \(body.sequenceID): cannot truncate to \(body.length) tokens, the shard starts at \(shard.start)")
        }
        guard length <= state.length else {
            throw .badRequest(
                "sequence \(body.sequenceID): cannot truncate to \(body.length) tokens, every layer holds only \(shard.start + state.length)")
        }
        do throws(StorageError) {
            try manager.truncate(id, to: length)
        } catch {
            throw ServiceError(error)
        }
    }

    private func close(_ body: CloseSequence) throws(ServiceError) {
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
    }

    // MARK: Pages

    /// Decodes a page and checks it is one of this model's pages.
    private func decodePage(_ page: EncodedPage) throws(ServiceError) -> RawPage {
        let raw: RawPage
        do throws(PageCodecError) {
            raw = try codec.decode(page.bytes)
        } catch {
            throw ServiceError(error)
        }
        guard raw.layout == layout else {
            throw .modelMismatch("page \(page.key) has layout \(raw.layout), this worker's model needs \(layout)")
        }
        return raw
    }

    /// Stores every page or none: each is decoded and checked first (its checksum, its layout against
    /// the model's, an int8 page's scales; a bad one refuses the whole put), then the new keys are
    /// admitted hot. A key already hot keeps its page (and its durable
    /// copy), so of a key repeated in one put the first page is stored; a key whose page lives only
    /// in a lower tier takes the put's page, and the lower copy is removed.
    private func put(_ pages: [EncodedPage]) async throws(ServiceError) {
        var raws: [(PrefixKey, RawPage)] = []
        for page in pages {
            let raw = try decodePage(page)
            do throws(StorageError) {
                try manager.store.validatePage(raw.bytes)
            } catch {
                throw ServiceError(error).about("page \(page.key)")
            }
            raws.append((page.key, raw))
        }
        let newKeys = Set(raws.map(\.0)).filter { manager.cache.page(for: $0) == nil }
        let available = manager.allocator.freeCount + manager.cache.idleCount
        guard newKeys.count <= available else {
            throw .capacity("\(newKeys.count) pages to store, \(available) free or evictable")
        }
        for (key, raw) in raws where manager.cache.page(for: key) == nil {
            do throws(StorageError) {
                pendingDirectives.append(contentsOf: try manager.admit(key: key, pageBytes: raw.bytes))
            } catch {
                throw ServiceError(error)
            }
            await tiers.remove(key: key)
        }
        await apply([])
    }

    private func get(_ keys: [PrefixKey]) async throws(ServiceError) -> [EncodedPage] {
        var pages: [EncodedPage] = []
        for key in keys {
            if manager.cache.page(for: key) == nil {
                guard await promote(key) else { continue }
            }
            let bytes: [UInt8]?
            do throws(StorageError) {
                bytes = try manager.cachedPage(key: key)
            } catch {
                throw ServiceError(error)
            }
            guard let bytes else { continue }
            do throws(PageCodecError) {
                pages.append(EncodedPage(key: key, bytes: codec.encode(try RawPage(layout: layout, bytes: bytes))))
            } catch {
                throw .internal("hot page \(key): \(error)")
            }
        }
        return pages
    }

    private func contains(_ keys: [PrefixKey]) async -> [Bool] {
        var present: [Bool] = []
        present.reserveCapacity(keys.count)
        for key in keys {
            if manager.cache.page(for: key) != nil {
                present.append(true)
            } else {
                present.append(await tiers.contains(key: key))
            }
        }
        return present
    }

    private func remove(_ keys: [PrefixKey]) async throws(ServiceError) {
        for key in keys {
            do throws(StorageError) {
                _ = try manager.removeCached(key: key)
            } catch {
                throw ServiceError(error)
            }
            let heldBelow = await tiers.contains(key: key)
            // Removes the page below and any durable copy of the hot page.
            await tiers.remove(key: key)
            if heldBelow { removedBelow.append(key) }
        }
    }

    private func pull(_ body: PullPages) async throws(ServiceError) -> PullPagesReply {
        var wanted: [PrefixKey] = []
        for key in body.keys where manager.cache.page(for: key) == nil {
            if await !tiers.contains(key: key) { wanted.append(key) }
        }
        var start = 0
        while start < wanted.count {
            let batch = Array(wanted[start..<min(wanted.count, start + WireLimits.maxPagesPerRequest)])
            start += batch.count
            let fetched = try await peers.fetchPages(from: body.peerEndpoint, keys: batch)
            let requested = Set(batch)
            try await put(fetched.filter { requested.contains($0.key) })
        }
        var pulled: [Bool] = []
        for key in body.keys {
            let hot = manager.cache.page(for: key) != nil
            pulled.append(hot ? true : await tiers.contains(key: key))
        }
        return PullPagesReply(pulled: pulled)
    }

    /// Before exit: gives every hot cached page that has no durable copy one in the disk tier, least
    /// recently used first (pages in use by open sequences last), so that a worker restarted on the
    /// same data directory serves every page this one held. Without a disk tier nothing is written.
    func persistHotPages() async {
        let idle = manager.cache.idlePagesInOrder.compactMap { manager.cache.key(of: $0) }
        let idleKeys = Set(idle)
        var lost: [PrefixKey] = []
        for key in idle + manager.cache.hotKeys.filter({ !idleKeys.contains($0) }) {
            guard await tiers.needsDurableCopy(key: key) else { continue }
            do {
                guard let bytes = try manager.cachedPage(key: key) else { continue }
                lost += await tiers.keepDurableCopy(key: key, page: try RawPage(layout: layout, bytes: bytes))
            } catch {
                logger.error("hot page \(key) could not be read for its durable copy: \(error)")
            }
        }
        manager.lowerTiersLost(keys: lost)
    }

    // MARK: Events, snapshots, stats

    /// Hands evictions to the tiers (demote, or forget a dropped key).
    private func apply(_ directives: [EvictionDirective]) async {
        let all = pendingDirectives + directives
        pendingDirectives = []
        for directive in all {
            switch directive {
            case let .demote(key, bytes):
                do throws(PageCodecError) {
                    manager.lowerTiersLost(keys: await tiers.demote(key: key, page: try RawPage(layout: layout, bytes: bytes)))
                    counters.demoted += 1
                } catch {
                    logger.error("evicted page \(key) has \(bytes.count) bytes: \(error)")
                }
            case .drop:
                break
            }
        }
    }

    /// Turns the hot cache's events into changes of the held key set, grouped by kind.
    private func takeEvents() async -> [CacheEvent] {
        await apply([])
        var events: [CacheEvent] = []
        let changes = manager.takeEvents().map { ($0.kind, $0.key) } + removedBelow.map { (PrefixCacheChange.Kind.removed, $0) }
        removedBelow = []
        for (eventKind, key) in changes {
            let kind: CacheEvent.Kind
            switch eventKind {
            case .stored:
                guard held.insert(key).inserted else { continue }
                kind = .stored
            case .removed:
                guard manager.cache.page(for: key) == nil else { continue }
                guard await !tiers.contains(key: key), held.remove(key) != nil else { continue }
                kind = .removed
            }
            if let last = events.last, last.kind == kind, last.keys.count < WireLimits.maxKeysPerRequest {
                events[events.count - 1].keys.append(key)
            } else {
                lastEvent += 1
                events.append(CacheEvent(workerID: workerID, eventSequence: lastEvent, kind: kind, keys: [key]))
            }
        }
        return events
    }

    private func snapshot() async -> SnapshotReply {
        let keys = manager.cache.snapshot().keys.union(await tiers.keys())
        return SnapshotReply(workerID: workerID, eventSequence: lastEvent, keys: Array(keys.prefix(WireLimits.maxKeysPerSnapshot)))
    }

    private func stats() async -> StatsReply {
        let lower = await tiers.keys().count
        let values: [(String, Int)] = [
            ("hot_pages", manager.allocator.pageCount),
            ("free_pages", manager.allocator.freeCount),
            ("cached_pages_hot", manager.cache.count),
            ("cached_pages_lower", lower),
            ("sequences", shards.count),
            ("draining", draining ? 1 : 0),
        ]
        let totals: [(String, UInt64)] = [
            ("requests", counters.requests),
            ("errors", counters.errors),
            ("prefill_tokens", counters.prefillTokens),
            ("decode_rows", counters.decodeRows),
            ("cached_tokens_served", counters.cachedTokensServed),
            ("pages_promoted", counters.promoted),
            ("pages_demoted", counters.demoted),
            ("last_event", lastEvent),
        ]
        return StatsReply(counters: values.map { .init(name: $0.0, value: UInt64($0.1)) } + totals.map { .init(name: $0.0, value: $0.1) }
            + (await tiers.statistics()))
    }
}

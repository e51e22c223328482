import CacheProtocol

/// Shard hand-over during a drain: serving a shard to the worker adopting it (`ShardExport`) and
/// adopting one from its source (`AdoptShard`, two-phase: the pages come from the peer).
extension WorkerInstance {
    /// Encoded bytes after which an export's run ends (it carries at least one page): 64 MiB, an
    /// eighth of the protocol's largest message, so that a run of large pages still fits one
    /// answer and crosses the network well within a peer request's 5 s.
    static let shardExportRunBytes = 64 << 20

    /// Answers a `ShardExport`: the shard's block-table state and a run of its pages from
    /// `firstPage`, encoded with the page codec: at most `WireLimits.maxPagesPerRequest` pages, and
    /// no page after the run's encoded bytes reach `limit` (`shardExportRunBytes`). The shard must be open here with the namespace and start
    /// asked for. Requests are served one at a time, so the shard is never in the middle of a step
    /// while it is read.
    mutating func exportShard(
        _ body: ShardExport,
        requestID: UInt64,
        runBytes limit: Int = WorkerInstance.shardExportRunBytes
    ) throws(ServiceError) -> [WorkerDirective] {
        try requireCompute(.shardExport)
        let (id, shard, state) = try lookUp(body.sequenceID)
        guard shard.namespace == body.namespace, shard.start == Int(body.shardStart) else {
            throw .unknownSequence(body.sequenceID)
        }
        let total = state.pages.count
        let first = Int(body.firstPage)
        guard first <= total else {
            throw .badRequest("sequence \(body.sequenceID): first page \(first) is past its \(total) pages")
        }
        var pages: [[UInt8]] = []
        var runBytes = 0
        for index in first..<min(total, first + WireLimits.maxPagesPerRequest) {
            guard runBytes < limit else { break }
            let bytes: [UInt8]
            do throws(StorageError) {
                bytes = try manager.exportPage(of: id, at: index)
            } catch {
                throw ServiceError(error)
            }
            do throws(PageCodecError) {
                let encoded = codec.encode(try RawPage(layout: layout, bytes: bytes))
                runBytes += encoded.count
                pages.append(encoded)
            } catch {
                throw .internal("sequence \(body.sequenceID): a page of \(bytes.count) bytes: \(error)")
            }
        }
        let reply = ShardExportReply(
            sequenceID: body.sequenceID,
            namespace: shard.namespace,
            shardStart: UInt32(shard.start),
            promptTokens: UInt32(clamping: shard.promptTokens),
            totalPages: UInt32(total),
            firstPage: UInt32(first),
            layerLengths: state.layerLengths.map { UInt32(clamping: $0) },
            keys: shard.keys,
            pages: pages
        )
        counters.shardExports += 1
        return self.reply(requestID, .shardExportReply(reply))
    }

    /// Starts an `AdoptShard`: checks that this worker can take the sequence, then asks the source
    /// for the shard's first run of pages.
    func adoptShard(_ body: AdoptShard, requestID: UInt64) throws(ServiceError) -> [WorkerDirective] {
        try requireCompute(.adoptShard)
        guard !isDraining else { throw .unavailable("worker \(workerID) is draining") }
        try checkAdoptable(body)
        return askForShard(body, requestID: requestID, received: nil)
    }

    /// Takes the source's answer: checks it against the request and what came before, decodes its
    /// pages, then asks for the next run, or opens the sequence once every page has come.
    mutating func adoptShard(
        _ body: AdoptShard,
        requestID: UInt64,
        received: ShardTransfer?,
        answer: Result<ShardExportReply, ServiceError>,
        effects: inout [WorkerDirective]
    ) throws(ServiceError) -> [WorkerDirective] {
        let exported: ShardExportReply
        switch answer {
        case .success(let value): exported = value
        case .failure(let error): throw error.about("adopting sequence \(body.sequenceID)")
        }
        var transfer = try checkedTransfer(body, exported, received: received)
        for page in exported.pages {
            let raw = try decodePage(EncodedPage(key: PrefixKey(digest: .zero), bytes: page))
            transfer.pages.append(raw.bytes)
            transfer.bytes += UInt64(page.count)
        }
        guard transfer.isComplete else { return askForShard(body, requestID: requestID, received: transfer) }
        // Other requests were served while the pages travelled: check again before opening.
        guard !isDraining else { throw .unavailable("worker \(workerID) is draining") }
        try checkAdoptable(body)
        let id = SequenceID(rawValue: body.sequenceID)
        let evictions: [EvictionDirective]
        do throws(StorageError) {
            evictions = try manager.adopt(id, pages: transfer.pages, layerLengths: transfer.layerLengths)
        } catch {
            throw ServiceError(error).about("adopting sequence \(body.sequenceID)")
        }
        record(evictions, effects: &effects)
        shards[id] = SequenceShard(
            start: Int(body.shardStart),
            keys: transfer.keys,
            namespace: body.namespace,
            promptTokens: transfer.promptTokens
        )
        counters.shardsAdopted += 1
        counters.peerPagesReceived += UInt64(transfer.pages.count)
        counters.peerBytesReceivedRaw += UInt64(transfer.pages.count * manager.geometry.bytesPerPage)
        counters.peerBytesReceivedEncoded += transfer.bytes
        let length = Int(body.shardStart) + (transfer.layerLengths.min() ?? 0)
        return reply(
            requestID,
            .adoptShardReply(
                AdoptShardReply(
                    sequenceID: body.sequenceID,
                    length: UInt32(clamping: length),
                    pages: UInt32(transfer.pages.count),
                    bytes: transfer.bytes
                )
            )
        )
    }

    /// Refuses an adoption this worker cannot take: id 0, a sequence open here already, a shard
    /// start off a page boundary.
    private func checkAdoptable(_ body: AdoptShard) throws(ServiceError) {
        guard body.sequenceID != 0 else { throw .badRequest("sequence id 0 cannot be adopted") }
        guard shards[SequenceID(rawValue: body.sequenceID)] == nil else {
            throw .badRequest("sequence \(body.sequenceID) is open on this worker already")
        }
        guard Int(body.shardStart) % spec.pageSize == 0 else {
            throw .badRequest("shard start \(body.shardStart) is not a multiple of \(spec.pageSize)")
        }
    }

    /// The directive that asks the source for the pages after those received.
    private func askForShard(_ body: AdoptShard, requestID: UInt64, received: ShardTransfer?) -> [WorkerDirective] {
        let request = ShardExport(
            sequenceID: body.sequenceID,
            namespace: body.namespace,
            shardStart: body.shardStart,
            firstPage: UInt32(received?.pages.count ?? 0)
        )
        return [
            .exportFromPeer(
                endpoint: body.peerEndpoint,
                request: request,
                then: PendingRequest(requestID: requestID, step: .adopt(body, received: received))
            )
        ]
    }

    /// The transfer `received` continued by `reply`, after checking that the reply is the shard
    /// asked for, continues where the pages stopped, fits the model and brings pages while some
    /// are missing.
    private func checkedTransfer(
        _ body: AdoptShard,
        _ reply: ShardExportReply,
        received: ShardTransfer?
    ) throws(ServiceError) -> ShardTransfer {
        let subject = "the source's answer for sequence \(body.sequenceID)"
        guard reply.sequenceID == body.sequenceID, reply.namespace == body.namespace,
            reply.shardStart == body.shardStart
        else { throw .badRequest("\(subject) names another shard") }
        let lengths = reply.layerLengths.map { Int($0) }
        guard lengths.count == spec.layers else {
            throw .badRequest("\(subject) has \(lengths.count) layer lengths, the model \(spec.layers) layers")
        }
        let total = Int(reply.totalPages)
        let transfer =
            received
            ?? ShardTransfer(
                totalPages: total,
                layerLengths: lengths,
                keys: reply.keys,
                promptTokens: Int(reply.promptTokens)
            )
        guard transfer.totalPages == total, transfer.layerLengths == lengths, transfer.keys == reply.keys,
            transfer.promptTokens == Int(reply.promptTokens),
            Int(reply.firstPage) == transfer.pages.count
        else { throw .badRequest("\(subject) does not continue the pages received before") }
        guard !reply.pages.isEmpty || transfer.isComplete else {
            throw .badRequest("\(subject) brings no pages, \(total - transfer.pages.count) are missing")
        }
        let longest = lengths.max() ?? 0
        guard (longest + spec.pageSize - 1) / spec.pageSize <= total else {
            throw .badRequest("\(subject): \(longest) tokens do not fit its \(total) pages")
        }
        return transfer
    }
}

import CacheProtocol

/// What the worker reports about itself (snapshots, counters) and the durable copies it writes
/// before exit.
extension WorkerInstance {
    /// Every key held, as of the last event numbered (at most `WireLimits.maxKeysPerSnapshot`).
    func snapshot() -> SnapshotReply {
        SnapshotReply(
            workerID: workerID,
            eventSequence: lastEvent,
            keys: Array(held.prefix(WireLimits.maxKeysPerSnapshot))
        )
    }

    /// The snapshot for a requester of `minorVersion`: `TierSnapshotReply` (each key with the tier
    /// the events announced) from 1.1 on, `SnapshotReply` before.
    func snapshot(forMinorVersion minorVersion: UInt8) -> Message {
        let plain = snapshot()
        guard minorVersion >= 1 else { return .snapshotReply(plain) }
        return .tierSnapshotReply(
            TierSnapshotReply(
                workerID: plain.workerID,
                eventSequence: plain.eventSequence,
                keys: plain.keys,
                tiers: plain.keys.map { heldBelow.contains($0) ? demotionTier : .hot }
            )
        )
    }

    /// Every open shard, by sequence id, with the tokens it holds in layer 0 and in every layer (at
    /// most `WireLimits.maxShardsPerList`).
    func shardList() -> ShardListReply {
        var list: [ShardListReply.Shard] = []
        list.reserveCapacity(min(shards.count, WireLimits.maxShardsPerList))
        for (id, shard) in shards.sorted(by: { $0.key.rawValue < $1.key.rawValue }).prefix(WireLimits.maxShardsPerList)
        {
            guard let state = try? manager.sequence(id) else { continue }
            list.append(
                ShardListReply.Shard(
                    sequenceID: id.rawValue,
                    namespace: shard.namespace,
                    shardStart: UInt32(clamping: shard.start),
                    layerZeroTokens: UInt32(clamping: state.layerLengths.first ?? 0),
                    everyLayerTokens: UInt32(clamping: state.length),
                    promptTokens: UInt32(clamping: shard.promptTokens),
                    sealed: shard.sealedAt != nil
                )
            )
        }
        return ShardListReply(workerID: workerID, shards: list)
    }

    /// The worker's own counters for `StatsReply`; the shell appends the lower tiers' counters.
    func statistics() -> [StatsReply.Counter] {
        let values: [(String, Int)] = [
            ("hot_pages", manager.allocator.pageCount),
            ("free_pages", manager.allocator.freeCount),
            ("cached_pages_hot", manager.cache.count),
            ("cached_pages_lower", manager.cache.lowerTierKeys.count),
            ("sequences", shards.count),
            ("draining", isDraining ? 1 : 0),
        ]
        let totals: [(String, UInt64)] = [
            ("requests", counters.requests),
            ("errors", counters.errors),
            ("prefill_tokens", counters.prefillTokens),
            ("decode_rows", counters.decodeRows),
            ("cached_tokens_served", counters.cachedTokensServed),
            ("pages_promoted", counters.promoted),
            ("pages_demoted", counters.demoted),
            ("peer_pages_received", counters.peerPagesReceived),
            ("peer_bytes_received", counters.peerBytesReceivedRaw),
            ("peer_bytes_received_encoded", counters.peerBytesReceivedEncoded),
            ("shards_adopted", counters.shardsAdopted),
            ("shard_exports", counters.shardExports),
            ("last_event", lastEvent),
        ]
        return values.map { StatsReply.Counter(name: $0.0, value: UInt64($0.1)) }
            + totals.map { StatsReply.Counter(name: $0.0, value: $0.1) }
    }

    /// The hot cached keys in the order their durable copies are written before exit: least
    /// recently used first, pages in use by open sequences last.
    func durableCopyOrder() -> [PrefixKey] {
        let idle = manager.cache.idlePagesInOrder.compactMap { manager.cache.key(of: $0) }
        let idleKeys = Set(idle)
        return idle + manager.cache.hotKeys.filter { !idleKeys.contains($0) }
    }

    /// The directive that writes a durable copy of the hot page of `key` (nothing when it is not
    /// hot; a log line when it cannot be read).
    func durableCopy(of key: PrefixKey) -> [WorkerDirective] {
        do {
            guard let bytes = try manager.cachedPage(key: key) else { return [] }
            return [.writeDurableCopy(key: key, page: try RawPage(layout: layout, bytes: bytes))]
        } catch {
            return [.log(.error, "hot page \(key) could not be read for its durable copy: \(error)")]
        }
    }
}

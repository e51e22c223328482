import Kernels

@testable import CacheProtocol

/// One message of every type with random field values; `size` scales every count.
enum MessageSamples {
    static func all(size: Int, rng: inout SplitMix64) throws -> [Message] {
        func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) } }
        func key() -> PrefixKey { PrefixKey(bytes: bytes(32)) ?? PrefixKey(digest: .zero) }
        func keys(_ count: Int) -> [PrefixKey] { (0..<count).map { _ in key() } }
        func text(_ count: Int) -> String {
            String((0..<count).map { _ in "aé-z9☃".randomElement(using: &rng) ?? "a" })
        }
        func tensor(_ type: TensorElementType, _ shape: [Int]) throws -> WireTensor {
            try WireTensor(elementType: type, shape: shape, bytes: bytes(shape.reduce(type.byteCount, *)))
        }
        func u64() -> UInt64 { .random(in: 0...UInt64.max, using: &rng) }
        func u32() -> UInt32 { .random(in: 0...UInt32.max, using: &rng) }
        let heads = Int.random(in: 1...4, using: &rng)
        let group = Int.random(in: 1...3, using: &rng)
        let dim = Int.random(in: 1...16, using: &rng)
        let elementType = TensorElementType.allCases.randomElement(using: &rng) ?? .f32
        func input(rows: Int, withKV: Bool) throws -> AttentionInput {
            try AttentionInput(
                q: try tensor(elementType, [rows, heads * group, dim]),
                k: withKV ? try tensor(elementType, [rows, heads, dim]) : nil,
                v: withKV ? try tensor(elementType, [rows, heads, dim]) : nil
            )
        }
        func output(rows: Int) throws -> AttentionOutput {
            try AttentionOutput(
                output: try tensor(.f32, [rows, heads * group, dim]),
                lse: try tensor(.f32, [rows, heads * group])
            )
        }
        let spec = try ModelSpec(
            name: "m\(size)",
            layers: Int.random(in: 1...80, using: &rng),
            queryHeads: heads * group,
            kvHeads: heads,
            headDim: dim,
            kvStorage: KVStorageType.allCases.randomElement(using: &rng) ?? .f16,
            pageSize: Int.random(in: 1...64, using: &rng)
        )
        let tokens = (0..<(size * 7)).map { _ in u32() }
        let entries = (0..<max(1, size)).map { _ in
            Decode.Entry(sequenceID: u64(), queryTokens: .random(in: 1...4, using: &rng))
        }
        let rows = entries.reduce(0) { $0 + Int($1.queryTokens) }
        let pages = (0..<size).map { _ in EncodedPage(key: key(), bytes: bytes(Int.random(in: 0...300, using: &rng))) }
        return [
            .registerWorker(
                RegisterWorker(
                    workerID: u64(),
                    endpoint: "tcp://127.0.0.1:\(size + 7000)",
                    role: .allCases.randomElement(using: &rng) ?? .compute,
                    hotPageCapacity: u64(),
                    storeBytes: u64(),
                    modelFingerprint: spec.fingerprint
                )
            ),
            .registerWorkerReply(RegisterWorkerReply(outcome: .accepted(spec))),
            .registerWorkerReply(RegisterWorkerReply(outcome: .refused(reason: text(size)))),
            .heartbeat(
                Heartbeat(
                    workerID: u64(),
                    liveSequences: u32(),
                    freePages: u64(),
                    cachedPages: u64(),
                    lastEventSequence: u64()
                )
            ),
            .heartbeatReport(
                HeartbeatReport(
                    heartbeat: Heartbeat(
                        workerID: u64(),
                        liveSequences: u32(),
                        freePages: u64(),
                        cachedPages: u64(),
                        lastEventSequence: u64()
                    ),
                    evictablePages: u64(),
                    peerPagesReceived: u64(),
                    peerBytesReceivedRaw: u64(),
                    peerBytesReceivedEncoded: u64()
                )
            ),
            .registerWorkerAccepted(
                RegisterWorkerAccepted(
                    spec: spec,
                    heartbeatMilliseconds: UInt32.random(
                        in: 1...RegisterWorkerAccepted.maximumHeartbeatMilliseconds,
                        using: &rng
                    ),
                    deadAfterHeartbeats: UInt32.random(in: 1...1000, using: &rng)
                )
            ),
            .ack(Ack()),
            .deregisterWorker(DeregisterWorker(workerID: u64())),
            .errorReply(
                ErrorReply(
                    code: (ErrorCode.known + [.unrecognised(999)]).randomElement(using: &rng) ?? .internal,
                    message: text(size)
                )
            ),
            .openSequence(
                OpenSequence(
                    sequenceID: u64(),
                    namespace: text(size % 40),
                    shardStart: UInt32(tokens.count / 2),
                    tokens: tokens
                )
            ),
            .openSequenceReply(OpenSequenceReply(sequenceID: u64(), cachedTokens: u32())),
            .prefill(
                try Prefill(
                    sequenceID: u64(),
                    layer: u32(),
                    startPosition: u32(),
                    input: try input(rows: size, withKV: true)
                )
            ),
            .prefillReply(PrefillReply(sequenceID: u64(), layer: u32(), result: try output(rows: size))),
            .decode(try Decode(layer: u32(), entries: entries, input: try input(rows: rows, withKV: true))),
            .decode(try Decode(layer: u32(), entries: entries, input: try input(rows: rows, withKV: false))),
            .decodeReply(DecodeReply(layer: u32(), result: try output(rows: rows))),
            .truncate(Truncate(sequenceID: u64(), length: u32())),
            .closeSequence(CloseSequence(sequenceID: u64(), commit: Bool.random(using: &rng))),
            .adoptShard(
                AdoptShard(
                    sequenceID: u64(),
                    namespace: text(size % 40),
                    shardStart: u32(),
                    peerEndpoint: "tcp://127.0.0.1:\(size + 7200)"
                )
            ),
            .adoptShardReply(AdoptShardReply(sequenceID: u64(), length: u32(), pages: u32(), bytes: u64())),
            .shardExport(
                ShardExport(sequenceID: u64(), namespace: text(size % 40), shardStart: u32(), firstPage: u32())
            ),
            .shardExportReply(
                ShardExportReply(
                    sequenceID: u64(),
                    namespace: text(size % 40),
                    shardStart: u32(),
                    promptTokens: u32(),
                    totalPages: UInt32(size + 3),
                    firstPage: 3,
                    layerLengths: (0..<spec.layers).map { _ in u32() },
                    keys: keys(size),
                    pages: pages.map(\.bytes)
                )
            ),
            .pagePut(PagePut(pages: pages)),
            .pageGet(PageGet(keys: keys(size))),
            .pageGetReply(PageGetReply(pages: pages)),
            .pageContains(PageContains(keys: keys(size))),
            .pageContainsReply(PageContainsReply(present: (0..<size).map { _ in Bool.random(using: &rng) })),
            .pageRemove(PageRemove(keys: keys(size))),
            .pullPages(PullPages(peerEndpoint: "tcp://[::1]:\(size + 7100)", keys: keys(size))),
            .pullPagesReply(PullPagesReply(pulled: (0..<size).map { _ in Bool.random(using: &rng) })),
            .prefetchPages(PrefetchPages(keys: keys(size))),
            .prefetchPagesReply(PrefetchPagesReply(hot: (0..<size).map { _ in Bool.random(using: &rng) })),
            .cacheEvent(
                CacheEvent(
                    workerID: u64(),
                    eventSequence: u64(),
                    kind: .allCases.randomElement(using: &rng) ?? .stored,
                    keys: keys(size)
                )
            ),
            .snapshotRequest(SnapshotRequest()),
            .snapshotReply(SnapshotReply(workerID: u64(), eventSequence: u64(), keys: keys(size * 3))),
            .cacheTierEvent(
                CacheTierEvent(
                    workerID: u64(),
                    eventSequence: u64(),
                    tier: CacheTier.allCases.randomElement(using: &rng) ?? .hot,
                    keys: keys(size)
                )
            ),
            .tierSnapshotReply(
                TierSnapshotReply(
                    workerID: u64(),
                    eventSequence: u64(),
                    keys: keys(size * 2),
                    tiers: (0..<size * 2).map { _ in CacheTier.allCases.randomElement(using: &rng) ?? .hot }
                )
            ),
            .shardListRequest(ShardListRequest()),
            .sealShard(SealShard(sequenceID: u64(), end: u32())),
            .shardListReply(
                ShardListReply(
                    workerID: u64(),
                    shards: (0..<size).map { _ in
                        let held = UInt32.random(in: 0...1 << 20, using: &rng)
                        return ShardListReply.Shard(
                            sequenceID: u64(),
                            namespace: text(size % 40),
                            shardStart: UInt32.random(in: 0...1 << 20, using: &rng),
                            layerZeroTokens: held,
                            everyLayerTokens: UInt32.random(in: 0...held, using: &rng),
                            promptTokens: u32(),
                            sealed: Bool.random(using: &rng)
                        )
                    }
                )
            ),
            .statsRequest(StatsRequest()),
            .statsReply(
                StatsReply(
                    counters: (0..<size).map { StatsReply.Counter(name: "counter.\($0).\(text(3))", value: u64()) }
                )
            ),
            .drain(Drain(workerID: u64())),
        ]
    }
}

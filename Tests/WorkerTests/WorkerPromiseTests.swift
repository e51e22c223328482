import CacheProtocol
import Foundation
import Kernels
import Testing

@testable import Worker

/// Attention computed in Double, the float64 reference of what a worker answers for one sequence:
/// q `[T, Hq, D]`, k and v `[N, Hkv, D]`, scale `1/√D`, query head `h` reading KV head
/// `h / (Hq / Hkv)`. With `queryPositions`, query `t` sees the keys at positions `0…queryPositions[t]`
/// (causal); without, every key. A query that sees no key answers zeros and lse −∞.
private func float64Attention(
    q: [Float],
    k: [Float],
    v: [Float],
    queryHeads hq: Int,
    kvHeads hkv: Int,
    headDim d: Int,
    queryPositions: [Int]? = nil
) -> (output: [Double], lse: [Double]) {
    let t = q.count / (hq * d)
    let n = k.count / (hkv * d)
    let group = hq / hkv
    let scale = 1 / Double(d).squareRoot()
    var output = [Double](repeating: 0, count: t * hq * d)
    var lse = [Double](repeating: -.infinity, count: t * hq)
    for token in 0..<t {
        let visible = queryPositions.map { min(n, $0[token] + 1) } ?? n
        guard visible > 0 else { continue }
        for head in 0..<hq {
            let kvHead = head / group
            var scores = [Double](repeating: 0, count: visible)
            for key in 0..<visible {
                var dot = 0.0
                for i in 0..<d {
                    dot += Double(q[(token * hq + head) * d + i]) * Double(k[(key * hkv + kvHead) * d + i])
                }
                scores[key] = dot * scale
            }
            let top = scores.max() ?? 0
            let weights = scores.map { Foundation.exp($0 - top) }
            let sum = weights.reduce(0, +)
            lse[token * hq + head] = top + Foundation.log(sum)
            for key in 0..<visible {
                for i in 0..<d {
                    output[(token * hq + head) * d + i] += weights[key] / sum * Double(v[(key * hkv + kvHead) * d + i])
                }
            }
        }
    }
    return (output, lse)
}

/// The largest difference between a worker's answer and the float64 reference (infinity when their
/// lengths differ; equal infinities count as no difference).
private func deviation(_ answer: [Float], _ reference: [Double]) -> Double {
    guard answer.count == reference.count else { return .infinity }
    return zip(answer, reference).map { pair -> Double in
        let (a, r) = (Double(pair.0), pair.1)
        return a == r ? 0 : abs(a - r)
    }.max() ?? 0
}

/// Tests that start the real `mfa-worker` and hold it to what PROTOCOL.md, TIERS.md and the README
/// promise: one test per promise.
@Suite("mfa-worker keeps the promises of its documents", .serialized, .timeLimit(.minutes(3)))
struct WorkerPromiseTests {
    /// f32 pages (16 KiB): the worker's answers are compared with a float64 reference.
    static let exactModel = "name=tiny,layers=2,q-heads=4,kv-heads=2,head-dim=32,kv=f32,page=16"
    /// f16 pages (8 KiB), for the tier tests.
    static let tierModel = TieredWorkerProcessTests.model
    /// How far an f32 answer may be from the float64 reference.
    static let tolerance = 1e-4

    static func tensor(_ values: [Float], _ shape: [Int]) throws -> WireTensor {
        try WireTensor(f32: values, shape: shape)
    }

    /// The code and message of an `ErrorReply` a client call ended with; nil when it succeeded.
    static func refusal(_ call: () async throws -> Void) async -> (code: ErrorCode, message: String)? {
        do {
            try await call()
            return nil
        } catch ClusterClientError.refused(let code, let message) {
            return (code, message)
        } catch {
            return (.internal, "not a refusal: \(error)")
        }
    }

    /// The page files in `directory`: key and size in bytes.
    static func pageFiles(_ directory: String) throws -> [PrefixKey: Int] {
        var files: [PrefixKey: Int] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory)
        where name.hasSuffix(DiskTier.pageSuffix) {
            guard let key = try? PrefixKey(hex: String(name.dropLast(DiskTier.pageSuffix.count))) else { continue }
            let attributes = try FileManager.default.attributesOfItem(atPath: directory + "/" + name)
            files[key] = (attributes[.size] as? NSNumber)?.intValue ?? -1
        }
        return files
    }

    /// Fetches `pages` one key at a time and checks each comes back with the bytes it was put with.
    static func expectServed(_ pages: [EncodedPage], by client: ClusterClient) async throws {
        for page in pages {
            let found = try await client.getPages([page.key])
            #expect(found.map(\.key) == [page.key], "page \(page.key) is missing")
            if let served = found.first {
                #expect(
                    try PageCodec().decode(served.bytes) == PageCodec().decode(page.bytes),
                    "page \(page.key) changed"
                )
            }
        }
    }

    @Test(
        "NaN or infinity in q, k or v of a prefill or decode is refused, naming tensor, row and sequence, and nothing is appended"
    )
    func nonFiniteInputIsRefused() async throws {
        let spec = try ModelSpec(parsing: Self.exactModel)
        let worker = try WorkerProcess(model: Self.exactModel)
        let client = try ClusterClient(context: try ZMQContext(), endpoint: worker.endpoint, timeout: .seconds(30))
        let (hq, hkv, d) = (spec.queryHeads, spec.kvHeads, spec.headDim)
        var random = SplitMix64(seed: 21)
        let first = try await client.open(namespace: "finite", tokens: Array(0..<8)).sequenceID
        let second = try await client.open(namespace: "finite", tokens: Array(100..<108)).sequenceID
        for id in [first, second] {
            _ = try await client.prefill(
                sequenceID: id,
                layer: 0,
                startPosition: 0,
                q: Self.tensor(random.floats(4 * hq * d, in: -4..<4), [4, hq, d]),
                k: Self.tensor(random.floats(4 * hkv * d, in: -4..<4), [4, hkv, d]),
                v: Self.tensor(random.floats(4 * hkv * d, in: -4..<4), [4, hkv, d])
            )
        }

        /// q, k and v of `rows` rows with `bad` at element 5 of row `row` of `tensor`.
        func input(
            rows: Int,
            poisoning tensor: String,
            row: Int,
            with bad: Float
        ) -> (q: [Float], k: [Float], v: [Float]) {
            var q = random.floats(rows * hq * d, in: -4..<4)
            var k = random.floats(rows * hkv * d, in: -4..<4)
            var v = random.floats(rows * hkv * d, in: -4..<4)
            switch tensor {
            case "q": q[row * hq * d + 5] = bad
            case "k": k[row * hkv * d + 5] = bad
            default: v[row * hkv * d + 5] = bad
            }
            return (q, k, v)
        }

        for name in ["q", "k", "v"] {
            for bad in [Float.nan, .infinity, -.infinity] {
                let values = input(rows: 3, poisoning: name, row: 1, with: bad)
                let prefill = await Self.refusal {
                    _ = try await client.prefill(
                        sequenceID: first,
                        layer: 0,
                        startPosition: 4,
                        q: Self.tensor(values.q, [3, hq, d]),
                        k: Self.tensor(values.k, [3, hkv, d]),
                        v: Self.tensor(values.v, [3, hkv, d])
                    )
                }
                #expect(prefill?.code == .badRequest, "prefill with \(bad) in \(name): \(String(describing: prefill))")
                #expect(prefill?.message.contains("\(name) row 1") == true, "\(String(describing: prefill))")
                #expect(prefill?.message.contains("sequence \(first)") == true, "\(String(describing: prefill))")

                // The second entry's row is poisoned: the first entry must not be appended either.
                let step = input(rows: 2, poisoning: name, row: 1, with: bad)
                let decode = await Self.refusal {
                    _ = try await client.decode(
                        layer: 0,
                        entries: [
                            Decode.Entry(sequenceID: first, queryTokens: 1),
                            Decode.Entry(sequenceID: second, queryTokens: 1),
                        ],
                        input: AttentionInput(
                            q: Self.tensor(step.q, [2, hq, d]),
                            k: Self.tensor(step.k, [2, hkv, d]),
                            v: Self.tensor(step.v, [2, hkv, d])
                        )
                    )
                }
                #expect(decode?.code == .badRequest, "decode with \(bad) in \(name): \(String(describing: decode))")
                #expect(decode?.message.contains("\(name) row 1") == true, "\(String(describing: decode))")
                #expect(decode?.message.contains("sequence \(second)") == true, "\(String(describing: decode))")
            }
        }
        for bad in [Float.nan, .infinity] {
            var q = random.floats(3 * hq * d, in: -4..<4)
            q[2 * hq * d + 7] = bad
            let decode = await Self.refusal {
                _ = try await client.decode(
                    layer: 0,
                    entries: [
                        Decode.Entry(sequenceID: second, queryTokens: 1),
                        Decode.Entry(sequenceID: first, queryTokens: 2),
                    ],
                    input: AttentionInput(q: Self.tensor(q, [3, hq, d]), k: nil, v: nil)
                )
            }
            #expect(decode?.code == .badRequest, "decode without k and v, \(bad) in q: \(String(describing: decode))")
            #expect(decode?.message.contains("q row 2") == true, "\(String(describing: decode))")
            #expect(decode?.message.contains("sequence \(first)") == true, "\(String(describing: decode))")
        }

        // Nothing was appended: both sequences still hold 4 tokens in layer 0.
        for id in [first, second] {
            let answer = try await client.prefill(
                sequenceID: id,
                layer: 0,
                startPosition: 4,
                q: Self.tensor(random.floats(2 * hq * d, in: -4..<4), [2, hq, d]),
                k: Self.tensor(random.floats(2 * hkv * d, in: -4..<4), [2, hkv, d]),
                v: Self.tensor(random.floats(2 * hkv * d, in: -4..<4), [2, hkv, d])
            )
            #expect(try answer.output.f32Values().allSatisfy(\.isFinite))
        }
        await client.disconnect()
        #expect(worker.terminate() == 0)
    }

    @Test(
        "a disk page read back (PageGet) keeps its file: after kill -9 a restart serves every page with the same bytes"
    )
    func promotedDiskPagesSurviveKill() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let arguments = ["--data-dir", directory, "--disk", "1MiB"]
        let pages = try TieredWorkerProcessTests.pages(8, seed: 31)
        do {
            // Two hot pages: six of the eight go to disk, and reading them back promotes them.
            let worker = try WorkerProcess(model: Self.tierModel, memory: "16KiB", arguments: arguments)
            let client = try ClusterClient(context: try ZMQContext(), endpoint: worker.endpoint, timeout: .seconds(30))
            for page in pages { try await client.putPages([page]) }
            #expect(try Self.pageFiles(directory).count == 6)
            try await Self.expectServed(pages, by: client)
            let stats = try await client.stats()
            #expect((stats["tier_disk_hits"] ?? 0) >= 6)
            let files = try Self.pageFiles(directory)
            #expect(Set(files.keys) == Set(pages.map(\.key)))
            #expect(stats["tier_disk_pages"] == UInt64(files.count))
            #expect(stats["tier_disk_bytes"] == UInt64(files.values.reduce(0, +)))
            worker.killAbruptly()
            await client.disconnect()
        }
        let restarted = try WorkerProcess(
            model: Self.tierModel,
            memory: "16KiB",
            arguments: arguments,
            logLevel: "warning"
        )
        let client = try ClusterClient(context: try ZMQContext(), endpoint: restarted.endpoint, timeout: .seconds(30))
        try await Self.expectServed(pages, by: client)
        let files = try Self.pageFiles(directory)
        let stats = try await client.stats()
        #expect(stats["tier_disk_pages"] == UInt64(files.count))
        #expect(stats["tier_disk_bytes"] == UInt64(files.values.reduce(0, +)))
        #expect(!restarted.standardError.contains("corrupt"))
        await client.disconnect()
        #expect(restarted.terminate() == 0)
    }

    @Test("SIGTERM with a disk tier writes every cached page, hot ones included; a restart serves them all")
    func terminationPersistsHotPages() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let arguments = ["--compressed-memory", "16KiB", "--data-dir", directory, "--disk", "1MiB"]
        let pages = try TieredWorkerProcessTests.pages(8, seed: 41)
        do {
            // Four hot pages, one in compressed RAM, three on disk; one disk page is read back hot.
            let worker = try WorkerProcess(model: Self.tierModel, memory: "32KiB", arguments: arguments)
            let client = try ClusterClient(context: try ZMQContext(), endpoint: worker.endpoint, timeout: .seconds(30))
            for page in pages { try await client.putPages([page]) }
            let stats = try await client.stats()
            #expect(stats["cached_pages_hot"] == 4)
            #expect(stats["tier_compressed_pages"] == 1)
            #expect(stats["tier_disk_pages"] == 3)
            try await Self.expectServed([pages[0]], by: client)
            await client.disconnect()
            #expect(worker.terminate() == 0)
        }
        #expect(Set(try Self.pageFiles(directory).keys) == Set(pages.map(\.key)))
        let restarted = try WorkerProcess(model: Self.tierModel, memory: "32KiB", arguments: arguments)
        let client = try ClusterClient(context: try ZMQContext(), endpoint: restarted.endpoint, timeout: .seconds(30))
        #expect(try await client.containsPages(pages.map(\.key)) == Array(repeating: true, count: pages.count))
        try await Self.expectServed(pages, by: client)
        await client.disconnect()
        #expect(restarted.terminate() == 0)
    }

    @Test(
        "every reply-only message sent to a worker is answered badRequest with its request id; a CacheEvent is not answered"
    )
    func replyOnlyMessagesAreRefused() async throws {
        let spec = try ModelSpec(parsing: Self.exactModel)
        let worker = try WorkerProcess(model: Self.exactModel)
        let context = try ZMQContext()
        let raw = try ZMQEndpoint(
            .dealer,
            context: context,
            options: ZMQSocketOptions(maxMessageSize: nil),
            connect: [worker.endpoint]
        )
        defer { Task { await raw.close() } }
        let key = tierKey(7)
        let output = try AttentionOutput(
            output: Self.tensor(
                [Float](repeating: 0.5, count: spec.queryHeads * spec.headDim),
                [1, spec.queryHeads, spec.headDim]
            ),
            lse: Self.tensor([Float](repeating: 0, count: spec.queryHeads), [1, spec.queryHeads])
        )
        let replies: [Message] = [
            .registerWorkerReply(RegisterWorkerReply(outcome: .accepted(spec))),
            .registerWorkerReply(RegisterWorkerReply(outcome: .refused(reason: "another model"))),
            .ack(Ack()),
            .errorReply(ErrorReply(code: .capacity, message: "full")),
            .openSequenceReply(OpenSequenceReply(sequenceID: 3, cachedTokens: 16)),
            .prefillReply(PrefillReply(sequenceID: 3, layer: 0, result: output)),
            .decodeReply(DecodeReply(layer: 1, result: output)),
            .pageGetReply(PageGetReply(pages: [EncodedPage(key: key, bytes: [1, 2, 3])])),
            .pageContainsReply(PageContainsReply(present: [true, false])),
            .pullPagesReply(PullPagesReply(pulled: [true])),
            .prefetchPagesReply(PrefetchPagesReply(hot: [false])),
            .snapshotReply(SnapshotReply(workerID: 9, eventSequence: 4, keys: [key])),
            .statsReply(StatsReply(counters: [StatsReply.Counter(name: "requests", value: 1)])),
        ]
        for (index, message) in replies.enumerated() {
            let id = UInt64(500 + index)
            try await raw.send(try Envelope(requestID: id, message: message).encode(), timeout: .seconds(5))
            let answer = try Envelope(frames: try await raw.receive(timeout: .seconds(10)))
            #expect(answer.requestID == id, "\(message.type)")
            guard case .errorReply(let error) = answer.message else {
                Issue.record("\(message.type) was answered \(answer.message)")
                continue
            }
            #expect(error.code == .badRequest, "\(message.type): \(error)")
        }

        // A CacheEvent is never answered: the next answer is the one to the stats request after it.
        let event = CacheEvent(workerID: 9, eventSequence: 1, kind: .stored, keys: [key])
        try await raw.send(try Envelope(requestID: 0, message: .cacheEvent(event)).encode(), timeout: .seconds(5))
        try await raw.send(
            try Envelope(requestID: 600, message: .statsRequest(StatsRequest())).encode(),
            timeout: .seconds(5)
        )
        let next = try Envelope(frames: try await raw.receive(timeout: .seconds(10)))
        #expect(next.requestID == 600)
        guard case .statsReply = next.message else {
            Issue.record("expected the stats reply, got \(next.message)")
            return
        }
        await #expect(throws: TransportError.self) { _ = try await raw.receive(timeout: .milliseconds(500)) }
        #expect(worker.terminate() == 0)
    }

    @Test("a decode without k and v lets every query token attend every token the shard holds, whatever the counts")
    func decodeWithoutKVAttendsTheWholeShard() async throws {
        let spec = try ModelSpec(parsing: Self.exactModel)
        let worker = try WorkerProcess(model: Self.exactModel)
        let client = try ClusterClient(context: try ZMQContext(), endpoint: worker.endpoint, timeout: .seconds(30))
        let (hq, hkv, d) = (spec.queryHeads, spec.kvHeads, spec.headDim)
        var random = SplitMix64(seed: 51)

        /// Opens a shard and prefills `length` tokens in layer 0; its k and v.
        func shard(_ length: Int, base: UInt32) async throws -> (id: UInt64, k: [Float], v: [Float]) {
            let id = try await client.open(namespace: "shards", tokens: (0..<UInt32(max(1, length))).map { $0 + base })
                .sequenceID
            let k = random.floats(length * hkv * d, in: -4..<4)
            let v = random.floats(length * hkv * d, in: -4..<4)
            if length > 0 {
                _ = try await client.prefill(
                    sequenceID: id,
                    layer: 0,
                    startPosition: 0,
                    q: Self.tensor(random.floats(length * hq * d, in: -4..<4), [length, hq, d]),
                    k: Self.tensor(k, [length, hkv, d]),
                    v: Self.tensor(v, [length, hkv, d])
                )
            }
            return (id, k, v)
        }
        let short = try await shard(2, base: 0)
        let long = try await shard(20, base: 1000)
        let empty = try await shard(0, base: 2000)

        // Three query tokens over two held tokens, one over twenty, two over none.
        let counts = [3, 1, 2]
        let q = random.floats(6 * hq * d, in: -4..<4)
        let answer = try await client.decode(
            layer: 0,
            entries: zip([short.id, long.id, empty.id], counts).map {
                Decode.Entry(sequenceID: $0, queryTokens: UInt32($1))
            },
            input: AttentionInput(q: Self.tensor(q, [6, hq, d]), k: nil, v: nil)
        )
        let output = try answer.output.f32Values()
        let lse = try answer.lse.f32Values()
        var row = 0
        for (held, count) in zip([(short.k, short.v), (long.k, long.v), (empty.k, empty.v)], counts) {
            let reference = float64Attention(
                q: Array(q[row * hq * d..<(row + count) * hq * d]),
                k: held.0,
                v: held.1,
                queryHeads: hq,
                kvHeads: hkv,
                headDim: d
            )
            #expect(deviation(Array(output[row * hq * d..<(row + count) * hq * d]), reference.output) < Self.tolerance)
            #expect(deviation(Array(lse[row * hq..<(row + count) * hq]), reference.lse) < Self.tolerance)
            row += count
        }
        // The shard holds what it held: the query tokens were not appended.
        _ = try await client.prefill(
            sequenceID: short.id,
            layer: 0,
            startPosition: 2,
            q: Self.tensor(random.floats(hq * d, in: -4..<4), [1, hq, d]),
            k: Self.tensor(random.floats(hkv * d, in: -4..<4), [1, hkv, d]),
            v: Self.tensor(random.floats(hkv * d, in: -4..<4), [1, hkv, d])
        )
        await client.disconnect()
        #expect(worker.terminate() == 0)
    }

    @Test(
        "a shard opened at token 32 takes absolute positions for prefill, decode and truncate, and commits its own pages"
    )
    func shardStartingPastZero() async throws {
        let spec = try ModelSpec(parsing: Self.exactModel)
        let worker = try WorkerProcess(model: Self.exactModel)
        let client = try ClusterClient(context: try ZMQContext(), endpoint: worker.endpoint, timeout: .seconds(30))
        let (hq, hkv, d) = (spec.queryHeads, spec.kvHeads, spec.headDim)
        var random = SplitMix64(seed: 61)
        let prompt = (0..<UInt32(48)).map { $0 * 7 + 3 }
        let open = OpenSequence(sequenceID: 77, namespace: "shard", shardStart: 32, tokens: prompt)
        guard case .openSequenceReply(let opened) = try await client.request(.openSequence(open)) else {
            Issue.record("no OpenSequenceReply")
            return
        }
        #expect(opened.sequenceID == 77)
        #expect(opened.cachedTokens == 32)

        // The shard's 16 prompt tokens, at positions 32…47, in every layer.
        var keys = (0..<spec.layers).map { _ in random.floats(16 * hkv * d, in: -4..<4) }
        var values = (0..<spec.layers).map { _ in random.floats(16 * hkv * d, in: -4..<4) }
        let startAtZero = await Self.refusal {
            _ = try await client.prefill(
                sequenceID: 77,
                layer: 0,
                startPosition: 0,
                q: Self.tensor(random.floats(16 * hq * d, in: -4..<4), [16, hq, d]),
                k: Self.tensor(keys[0], [16, hkv, d]),
                v: Self.tensor(values[0], [16, hkv, d])
            )
        }
        #expect(startAtZero?.code == .badRequest)
        for layer in 0..<spec.layers {
            let q = random.floats(16 * hq * d, in: -4..<4)
            let answer = try await client.prefill(
                sequenceID: 77,
                layer: layer,
                startPosition: 32,
                q: Self.tensor(q, [16, hq, d]),
                k: Self.tensor(keys[layer], [16, hkv, d]),
                v: Self.tensor(values[layer], [16, hkv, d])
            )
            let reference = float64Attention(
                q: q,
                k: keys[layer],
                v: values[layer],
                queryHeads: hq,
                kvHeads: hkv,
                headDim: d,
                queryPositions: Array(0..<16)
            )
            #expect(deviation(try answer.output.f32Values(), reference.output) < Self.tolerance)
            #expect(deviation(try answer.lse.f32Values(), reference.lse) < Self.tolerance)
        }

        /// One decode step with k and v of the tail shard in every layer, checked against the reference.
        func decodeStep() async throws {
            for layer in 0..<spec.layers {
                let (q, k, v) = (
                    random.floats(hq * d, in: -4..<4), random.floats(hkv * d, in: -4..<4),
                    random.floats(hkv * d, in: -4..<4)
                )
                let answer = try await client.decode(
                    layer: layer,
                    entries: [Decode.Entry(sequenceID: 77, queryTokens: 1)],
                    input: AttentionInput(
                        q: Self.tensor(q, [1, hq, d]),
                        k: Self.tensor(k, [1, hkv, d]),
                        v: Self.tensor(v, [1, hkv, d])
                    )
                )
                keys[layer] += k
                values[layer] += v
                let reference = float64Attention(
                    q: q,
                    k: keys[layer],
                    v: values[layer],
                    queryHeads: hq,
                    kvHeads: hkv,
                    headDim: d
                )
                #expect(deviation(try answer.output.f32Values(), reference.output) < Self.tolerance)
                #expect(deviation(try answer.lse.f32Values(), reference.lse) < Self.tolerance)
            }
        }
        try await decodeStep()
        try await decodeStep()
        // Truncate takes absolute lengths: 49 keeps the shard's 16 prompt tokens and the first step.
        let beforeShard = await Self.refusal { try await client.truncate(sequenceID: 77, length: 20) }
        #expect(beforeShard?.code == .badRequest)
        try await client.truncate(sequenceID: 77, length: 49)
        for layer in 0..<spec.layers {
            keys[layer].removeLast(hkv * d)
            values[layer].removeLast(hkv * d)
        }
        try await decodeStep()
        let pastEnd = await Self.refusal { try await client.truncate(sequenceID: 77, length: 60) }
        #expect(pastEnd?.code == .badRequest)
        #expect(pastEnd?.message.contains("holds only 50") == true, "\(String(describing: pastEnd))")
        try await client.close(sequenceID: 77, commit: true)

        // The shard committed the page of tokens 32…47 under its prefix key.
        let chain = PrefixKey.chain(
            namespace: "shard",
            fingerprint: spec.fingerprint,
            tokens: prompt,
            pageSize: spec.pageSize
        )
        #expect(try await client.containsPages(chain) == [false, false, true])
        let again = OpenSequence(sequenceID: 78, namespace: "shard", shardStart: 32, tokens: prompt)
        guard case .openSequenceReply(let reopened) = try await client.request(.openSequence(again)) else {
            Issue.record("no OpenSequenceReply")
            return
        }
        #expect(reopened.cachedTokens == 48)
        let q = random.floats(hq * d, in: -4..<4)
        let cached = try await client.decode(
            layer: 1,
            entries: [Decode.Entry(sequenceID: 78, queryTokens: 1)],
            input: AttentionInput(q: Self.tensor(q, [1, hq, d]), k: nil, v: nil)
        )
        let reference = float64Attention(
            q: q,
            k: Array(keys[1].prefix(16 * hkv * d)),
            v: Array(values[1].prefix(16 * hkv * d)),
            queryHeads: hq,
            kvHeads: hkv,
            headDim: d
        )
        #expect(deviation(try cached.output.f32Values(), reference.output) < Self.tolerance)
        #expect(try await client.open(namespace: "shard", tokens: prompt).cachedTokens == 0)

        // Without an id the worker assigns one; a shard may start mid-prompt past its last full page.
        let unnamed = OpenSequence(sequenceID: 0, namespace: "shard", shardStart: 16, tokens: Array(prompt.prefix(20)))
        guard case .openSequenceReply(let assigned) = try await client.request(.openSequence(unnamed)) else {
            Issue.record("no OpenSequenceReply")
            return
        }
        #expect(assigned.sequenceID != 0)
        #expect(assigned.cachedTokens == 16)
        _ = try await client.prefill(
            sequenceID: assigned.sequenceID,
            layer: 0,
            startPosition: 16,
            q: Self.tensor(random.floats(4 * hq * d, in: -4..<4), [4, hq, d]),
            k: Self.tensor(random.floats(4 * hkv * d, in: -4..<4), [4, hkv, d]),
            v: Self.tensor(random.floats(4 * hkv * d, in: -4..<4), [4, hkv, d])
        )
        await client.disconnect()
        #expect(worker.terminate() == 0)
    }

    @Test(
        "PullPages from a peer nobody listens on answers unavailable, naming the peer and the timeout, within the bound"
    )
    func pullFromSilentPeer() async throws {
        let context = try ZMQContext()
        // A port that was free a moment ago and that nothing listens on now.
        let probe = try ZMQEndpoint(.router, context: context, bind: ["tcp://127.0.0.1:*"])
        let silent = try #require(probe.boundEndpoints.first)
        await probe.close()
        let worker = try WorkerProcess(model: Self.exactModel)
        let bound = ClusterPagePeers.requestTimeout
        let client = try ClusterClient(context: context, endpoint: worker.endpoint, timeout: bound + .seconds(5))
        let refusal = await Self.refusal {
            _ = try await client.request(.pullPages(PullPages(peerEndpoint: silent, keys: [tierKey(1), tierKey(2)])))
        }
        #expect(refusal?.code == .unavailable, "\(String(describing: refusal))")
        #expect(refusal?.message.contains(silent) == true, "\(String(describing: refusal))")
        #expect(refusal?.message.contains(ClusterPagePeers.describe(bound)) == true, "\(String(describing: refusal))")
        await client.disconnect()
        #expect(worker.terminate() == 0)
    }
}

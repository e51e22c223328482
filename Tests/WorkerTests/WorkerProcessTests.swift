import CacheProtocol
import Foundation
import Kernels
import Testing
@testable import Worker

/// A sequence driven through a worker, with every K/V row it was sent, for the reference.
private struct DrivenSequence {
    var id: UInt64
    var keys: [[Float]]
    var values: [[Float]]
}

/// Tests that start the real `mfa-worker` and talk to it over ZeroMQ.
@Suite("mfa-worker process", .serialized)
struct WorkerProcessTests {
    static func model(_ storage: String) -> String {
        "name=tiny,layers=2,q-heads=4,kv-heads=2,head-dim=32,kv=\(storage),page=16"
    }

    static func tensor(_ values: [Float], _ shape: [Int]) throws -> WireTensor {
        try WireTensor(f32: values, shape: shape)
    }

    static func tolerance(_ storage: KVStorageType) -> Float {
        storage == .int8 ? 2e-3 : 1e-4
    }

    @Test("prefill and 32 batched decode steps of 4 sequences match the dense kernel", arguments: ["f16", "int8"])
    func prefillAndDecode(storage: String) async throws {
        let spec = try ModelSpec(parsing: Self.model(storage))
        let worker = try WorkerProcess(model: Self.model(storage))
        let context = try ZMQContext()
        let client = try ClusterClient(context: context, endpoint: worker.endpoint, timeout: .seconds(30))
        defer { Task { await client.close() } }
        var random = TestRandom(seed: 7)
        let (hq, hkv, d) = (spec.queryHeads, spec.kvHeads, spec.headDim)
        var sequences: [DrivenSequence] = []
        for (index, length) in [5, 16, 23, 40].enumerated() {
            let tokens = (0..<length).map { UInt32($0 + 1000 * index) }
            let opened = try await client.open(namespace: "test", tokens: tokens)
            #expect(opened.cachedTokens == 0)
            var sequence = DrivenSequence(id: opened.sequenceID, keys: [], values: [])
            for layer in 0..<spec.layers {
                let q = random.floats(length * hq * d)
                let k = random.floats(length * hkv * d)
                let v = random.floats(length * hkv * d)
                let answer = try await client.prefill(
                    sequenceID: sequence.id, layer: layer, startPosition: 0, q: Self.tensor(q, [length, hq, d]),
                    k: Self.tensor(k, [length, hkv, d]), v: Self.tensor(v, [length, hkv, d]))
                let expected = try referenceAttention(queries: q, keys: k, values: v, spec: spec)
                #expect(maxDifference(try answer.output.f32Values(), expected.output) < Self.tolerance(spec.kvStorage))
                #expect(maxDifference(try answer.lse.f32Values(), expected.lse) < Self.tolerance(spec.kvStorage))
                sequence.keys.append(k)
                sequence.values.append(v)
            }
            sequences.append(sequence)
        }
        var worst: Float = 0
        for _ in 0..<32 {
            for layer in 0..<spec.layers {
                let q = random.floats(sequences.count * hq * d)
                let k = random.floats(sequences.count * hkv * d)
                let v = random.floats(sequences.count * hkv * d)
                let answer = try await client.decode(
                    layer: layer, entries: sequences.map { Decode.Entry(sequenceID: $0.id, queryTokens: 1) },
                    input: AttentionInput(
                        q: Self.tensor(q, [sequences.count, hq, d]), k: Self.tensor(k, [sequences.count, hkv, d]),
                        v: Self.tensor(v, [sequences.count, hkv, d])))
                let output = try answer.output.f32Values()
                for index in sequences.indices {
                    sequences[index].keys[layer] += k[index * hkv * d..<(index + 1) * hkv * d]
                    sequences[index].values[layer] += v[index * hkv * d..<(index + 1) * hkv * d]
                    let expected = try referenceAttention(
                        queries: Array(q[index * hq * d..<(index + 1) * hq * d]), keys: sequences[index].keys[layer],
                        values: sequences[index].values[layer], spec: spec)
                    worst = max(worst, maxDifference(Array(output[index * hq * d..<(index + 1) * hq * d]), expected.output))
                }
            }
        }
        #expect(worst < Self.tolerance(spec.kvStorage))
        #expect(worker.terminate() == 0)
    }

    @Test("a second sequence with the same prompt reuses the cached pages bit for bit")
    func prefixCacheHit() async throws {
        let spec = try ModelSpec(parsing: Self.model("f16"))
        let worker = try WorkerProcess(model: Self.model("f16"))
        let context = try ZMQContext()
        let client = try ClusterClient(context: context, endpoint: worker.endpoint, timeout: .seconds(30))
        defer { Task { await client.close() } }
        var random = TestRandom(seed: 11)
        let (hq, hkv, d) = (spec.queryHeads, spec.kvHeads, spec.headDim)
        let prompt = (0..<40).map { UInt32($0 * 3 + 1) }
        let q = (0..<spec.layers).map { _ in random.floats(40 * hq * d) }
        let k = (0..<spec.layers).map { _ in random.floats(40 * hkv * d) }
        let v = (0..<spec.layers).map { _ in random.floats(40 * hkv * d) }
        let decodeQ = random.floats(hq * d)
        let decodeK = random.floats(hkv * d)
        let decodeV = random.floats(hkv * d)

        /// Prefills `prompt` from `start` in one chunk per layer, then one decode step; the outputs.
        func run(_ id: UInt64, from start: Int) async throws -> [[Float]] {
            var outputs: [[Float]] = []
            for layer in 0..<spec.layers {
                let rows = 40 - start
                let answer = try await client.prefill(
                    sequenceID: id, layer: layer, startPosition: start,
                    q: Self.tensor(Array(q[layer][(start * hq * d)...]), [rows, hq, d]),
                    k: Self.tensor(Array(k[layer][(start * hkv * d)...]), [rows, hkv, d]),
                    v: Self.tensor(Array(v[layer][(start * hkv * d)...]), [rows, hkv, d]))
                outputs.append(try answer.output.f32Values())
            }
            for layer in 0..<spec.layers {
                let answer = try await client.decode(
                    layer: layer, entries: [Decode.Entry(sequenceID: id, queryTokens: 1)],
                    input: AttentionInput(
                        q: Self.tensor(decodeQ, [1, hq, d]), k: Self.tensor(decodeK, [1, hkv, d]),
                        v: Self.tensor(decodeV, [1, hkv, d])))
                outputs.append(try answer.output.f32Values())
            }
            return outputs
        }

        let first = try await client.open(namespace: "tenant", tokens: prompt)
        #expect(first.cachedTokens == 0)
        // The first sequence prefills the two full pages, then the rest, as the second will.
        for layer in 0..<spec.layers {
            _ = try await client.prefill(
                sequenceID: first.sequenceID, layer: layer, startPosition: 0,
                q: Self.tensor(Array(q[layer][..<(32 * hq * d)]), [32, hq, d]),
                k: Self.tensor(Array(k[layer][..<(32 * hkv * d)]), [32, hkv, d]),
                v: Self.tensor(Array(v[layer][..<(32 * hkv * d)]), [32, hkv, d]))
        }
        let firstOutputs = try await run(first.sequenceID, from: 32)
        try await client.close(sequenceID: first.sequenceID, commit: true)

        let second = try await client.open(namespace: "tenant", tokens: prompt)
        #expect(second.cachedTokens == 32)
        #expect(second.sequenceID != first.sequenceID)
        let secondOutputs = try await run(second.sequenceID, from: 32)
        #expect(secondOutputs == firstOutputs)

        let other = try await client.open(namespace: "another-tenant", tokens: prompt)
        #expect(other.cachedTokens == 0)
        let stats = try await client.stats()
        #expect(stats["cached_pages_hot"] == 2)
        #expect(stats["sequences"] == 2)
        #expect(worker.terminate() == 0)
    }

    @Test("malformed and hostile requests get their error and the worker keeps serving")
    func hostileInput() async throws {
        let spec = try ModelSpec(parsing: Self.model("f16"))
        let worker = try WorkerProcess(model: Self.model("f16"))
        let context = try ZMQContext()
        let client = try ClusterClient(context: context, endpoint: worker.endpoint, timeout: .seconds(30))
        defer { Task { await client.close() } }
        let raw = try ZMQEndpoint(.dealer, context: context, options: ZMQSocketOptions(maxMessageSize: nil), connect: [worker.endpoint])
        defer { Task { await raw.close() } }

        func answer(_ frames: [[UInt8]]) async throws -> Envelope? {
            try await raw.send(frames, timeout: .seconds(5))
            do {
                return try Envelope(frames: try await raw.receive(timeout: .milliseconds(500)))
            } catch TransportError.timedOut {
                return nil
            }
        }
        func code(_ envelope: Envelope?) -> ErrorCode? {
            guard case .errorReply(let error)? = envelope?.message else { return nil }
            return error.code
        }
        func stillServes() async throws -> Bool {
            try await client.stats()["requests"] != nil
        }
        let stats = try Envelope(requestID: 77, message: .statsRequest(StatsRequest())).encode()

        // Random bytes and a wrong magic carry no readable request id: dropped.
        var random = TestRandom(seed: 3)
        #expect(try await answer([(0..<64).map { _ in UInt8(truncatingIfNeeded: random.next()) }]) == nil)
        var badMagic = stats
        badMagic[0][0] = UInt8(ascii: "X")
        #expect(try await answer(badMagic) == nil)
        #expect(try await stillServes())

        // Another major version: `version`, with the request id.
        var newer = stats
        newer[0][4] = 2
        let versionReply = try await answer(newer)
        #expect(code(versionReply) == .version)
        #expect(versionReply?.requestID == 77)

        // A claim of 100 MB of tokens in a small body: `badRequest`.
        var open = try Envelope(requestID: 78, message: .openSequence(OpenSequence(sequenceID: 0, namespace: "t", shardStart: 0, tokens: [1, 2, 3]))).encode()
        let countOffset = open[0].count - 4 * 3 - 4
        withUnsafeBytes(of: UInt32(25_000_000).littleEndian) { open[0].replaceSubrange(countOffset..<countOffset + 4, with: $0) }
        #expect(code(try await answer(open)) == .badRequest)

        // Unknown sequence ids.
        await #expect(throws: ClusterClientError.refused(code: .unknownSequence, message: "no open sequence with id 424242")) {
            try await client.truncate(sequenceID: 424242, length: 0)
        }
        await #expect(throws: ClusterClientError.self) {
            _ = try await client.decode(
                layer: 0, entries: [Decode.Entry(sequenceID: 99, queryTokens: 1)],
                input: AttentionInput(q: Self.tensor([Float](repeating: 0, count: spec.queryHeads * spec.headDim), [1, spec.queryHeads, spec.headDim]), k: nil, v: nil))
        }

        // Wrong shapes, wrong layer, wrong start position.
        let id = try await client.open(namespace: "t", tokens: [1, 2, 3]).sequenceID
        let (hq, hkv, d) = (spec.queryHeads, spec.kvHeads, spec.headDim)
        func prefill(layer: Int = 0, start: Int = 0, heads: Int = 4) async -> ErrorCode? {
            do {
                _ = try await client.prefill(
                    sequenceID: id, layer: layer, startPosition: start, q: Self.tensor([Float](repeating: 0.5, count: 2 * heads * d), [2, heads, d]),
                    k: Self.tensor([Float](repeating: 0.5, count: 2 * hkv * d), [2, hkv, d]),
                    v: Self.tensor([Float](repeating: 0.5, count: 2 * hkv * d), [2, hkv, d]))
                return nil
            } catch let error as ClusterClientError {
                guard case .refused(let code, _) = error else { return .internal }
                return code
            } catch {
                return .internal
            }
        }
        #expect(await prefill(heads: 3) == .badRequest)
        #expect(await prefill(layer: 2) == .badRequest)
        #expect(await prefill(start: 5) == .badRequest)
        #expect(await prefill() == nil)
        #expect(hq == 4)

        // A page of another layout: `modelMismatch`.
        let foreign = try RawPage(layout: PageLayout(layers: 1, pageSize: 16, kvHeads: 2, headDim: 32, storage: .f16), values: [Float](repeating: 1, count: 2 * 16 * 2 * 32))
        let key = try #require(PrefixKey(bytes: [UInt8](repeating: 9, count: 32)))
        let foreignPut = [EncodedPage(key: key, bytes: PageCodec().encode(foreign))]
        await #expect(throws: ClusterClientError.refused(
            code: .modelMismatch, message: "page \(key) has layout \(foreign.layout), this worker's model needs \(try PageLayout(layers: 2, pageSize: 16, kvHeads: 2, headDim: 32, storage: .f16))")) {
            try await client.putPages(foreignPut)
        }

        // A frame over the max message size: ZeroMQ drops that connection; others are served.
        let oversize = try ZMQEndpoint(.dealer, context: context, options: ZMQSocketOptions(maxMessageSize: nil), connect: [worker.endpoint])
        var huge = try Envelope(requestID: 79, message: .pagePut(PagePut(pages: [EncodedPage(key: key, bytes: [1])]))).encode()
        huge[1] = [UInt8](repeating: 0, count: WireLimits.maxBulkFrameBytes + 1)
        try await oversize.send(huge, timeout: .seconds(10))
        await #expect(throws: TransportError.self) { _ = try await oversize.receive(timeout: .milliseconds(500)) }
        await oversize.close()

        #expect(try await stillServes())
        #expect(worker.terminate() == 0)
    }

    @Test("a store worker keeps pages and refuses sequences")
    func storeRole() async throws {
        let model = Self.model("int8")
        let spec = try ModelSpec(parsing: model)
        let worker = try WorkerProcess(model: model, arguments: ["--role", "store"])
        let context = try ZMQContext()
        let client = try ClusterClient(context: context, endpoint: worker.endpoint, timeout: .seconds(30))
        defer { Task { await client.close() } }
        let layout = try PageLayout(layers: spec.layers, pageSize: spec.pageSize, kvHeads: spec.kvHeads, headDim: spec.headDim, storage: spec.kvStorage)
        var random = TestRandom(seed: 5)
        let pages = try (0..<3).map { n in
            EncodedPage(
                key: try #require(PrefixKey(bytes: [UInt8](repeating: UInt8(n + 1), count: 32))),
                bytes: PageCodec().encode(try RawPage(layout: layout, values: random.floats(layout.elementCount))))
        }
        try await client.putPages(pages)
        let missing = try #require(PrefixKey(bytes: [UInt8](repeating: 0xEE, count: 32)))
        #expect(try await client.containsPages(pages.map(\.key) + [missing]) == [true, true, true, false])
        let fetched = try await client.getPages([pages[2].key, missing, pages[0].key])
        #expect(fetched.map(\.key) == [pages[2].key, pages[0].key])
        #expect(try fetched.map { try PageCodec().decode($0.bytes) } == [pages[2], pages[0]].map { try PageCodec().decode($0.bytes) })
        try await client.removePages([pages[1].key, missing])
        #expect(try await client.containsPages(pages.map(\.key)) == [true, false, true])
        await #expect(throws: ClusterClientError.refused(code: .badRequest, message: "openSequence needs a compute worker; this one is a store")) {
            _ = try await client.open(namespace: "t", tokens: [1])
        }
        #expect(worker.terminate() == 0)
    }

    @Test("SIGTERM makes the worker exit with status 0")
    func terminates() throws {
        let worker = try WorkerProcess(model: Self.model("f16"))
        #expect(worker.terminate(timeout: .seconds(10)) == 0)
    }
}

import CacheProtocol
import Foundation
import Kernels
import TestSupport
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

    /// Largest accepted difference from the float64 reference on values in `[-4, 4)`: the f32
    /// arithmetic's for f16 storage; for int8, that of the kernel's integer path for few query
    /// rows, whose 8-bit value weights move an output by about 2/255 of the largest value
    /// magnitude (`KernelEngineTests.integerPathTolerance` at magnitude 1).
    static func tolerance(_ storage: KVStorageType) -> Double {
        storage == .int8 ? 4 * 2 / 255 : 1e-4
    }

    @Test("prefill and 32 batched decode steps of 4 sequences match the dense kernel", arguments: ["f16", "int8"])
    func prefillAndDecode(storage: String) async throws {
        let spec = try ModelSpec(parsing: Self.model(storage))
        let worker = try WorkerProcess(model: Self.model(storage))
        let context = try ZMQContext()
        let client = try ClusterClient(context: context, endpoint: worker.endpoint, timeout: .seconds(30))
        defer { Task { await client.disconnect() } }
        var random = SplitMix64(seed: 7)
        let (hq, hkv, d) = (spec.queryHeads, spec.kvHeads, spec.headDim)
        var sequences: [DrivenSequence] = []
        for (index, length) in [5, 16, 23, 40].enumerated() {
            let tokens = (0..<length).map { UInt32($0 + 1000 * index) }
            let opened = try await client.open(namespace: "test", tokens: tokens)
            #expect(opened.cachedTokens == 0)
            var sequence = DrivenSequence(id: opened.sequenceID, keys: [], values: [])
            for layer in 0..<spec.layers {
                let q = random.floats(length * hq * d, in: -4..<4)
                let k = random.floats(length * hkv * d, in: -4..<4)
                let v = random.floats(length * hkv * d, in: -4..<4)
                let answer = try await client.prefill(
                    sequenceID: sequence.id,
                    layer: layer,
                    startPosition: 0,
                    q: Self.tensor(q, [length, hq, d]),
                    k: Self.tensor(k, [length, hkv, d]),
                    v: Self.tensor(v, [length, hkv, d])
                )
                let expected = try ReferenceAttention.sequence(queries: q, keys: k, values: v, spec: spec)
                #expect(expected.largestOutputError(try answer.output.f32Values()) < Self.tolerance(spec.kvStorage))
                #expect(expected.largestLogSumExpError(try answer.lse.f32Values()) < Self.tolerance(spec.kvStorage))
                sequence.keys.append(k)
                sequence.values.append(v)
            }
            sequences.append(sequence)
        }
        var worst = 0.0
        for _ in 0..<32 {
            for layer in 0..<spec.layers {
                let q = random.floats(sequences.count * hq * d, in: -4..<4)
                let k = random.floats(sequences.count * hkv * d, in: -4..<4)
                let v = random.floats(sequences.count * hkv * d, in: -4..<4)
                let answer = try await client.decode(
                    layer: layer,
                    entries: sequences.map { Decode.Entry(sequenceID: $0.id, queryTokens: 1) },
                    input: AttentionInput(
                        q: Self.tensor(q, [sequences.count, hq, d]),
                        k: Self.tensor(k, [sequences.count, hkv, d]),
                        v: Self.tensor(v, [sequences.count, hkv, d])
                    )
                )
                let output = try answer.output.f32Values()
                for index in sequences.indices {
                    sequences[index].keys[layer] += k[index * hkv * d..<(index + 1) * hkv * d]
                    sequences[index].values[layer] += v[index * hkv * d..<(index + 1) * hkv * d]
                    let expected = try ReferenceAttention.sequence(
                        queries: Array(q[index * hq * d..<(index + 1) * hq * d]),
                        keys: sequences[index].keys[layer],
                        values: sequences[index].values[layer],
                        spec: spec
                    )
                    worst = max(
                        worst,
                        expected.largestOutputError(Array(output[index * hq * d..<(index + 1) * hq * d]))
                    )
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
        defer { Task { await client.disconnect() } }
        var random = SplitMix64(seed: 11)
        let (hq, hkv, d) = (spec.queryHeads, spec.kvHeads, spec.headDim)
        let prompt = (0..<40).map { UInt32($0 * 3 + 1) }
        let q = (0..<spec.layers).map { _ in random.floats(40 * hq * d, in: -4..<4) }
        let k = (0..<spec.layers).map { _ in random.floats(40 * hkv * d, in: -4..<4) }
        let v = (0..<spec.layers).map { _ in random.floats(40 * hkv * d, in: -4..<4) }
        let decodeQ = random.floats(hq * d, in: -4..<4)
        let decodeK = random.floats(hkv * d, in: -4..<4)
        let decodeV = random.floats(hkv * d, in: -4..<4)

        /// Prefills `prompt` from `start` in one chunk per layer, then one decode step; the outputs.
        func run(_ id: UInt64, from start: Int) async throws -> [[Float]] {
            var outputs: [[Float]] = []
            for layer in 0..<spec.layers {
                let rows = 40 - start
                let answer = try await client.prefill(
                    sequenceID: id,
                    layer: layer,
                    startPosition: start,
                    q: Self.tensor(Array(q[layer][(start * hq * d)...]), [rows, hq, d]),
                    k: Self.tensor(Array(k[layer][(start * hkv * d)...]), [rows, hkv, d]),
                    v: Self.tensor(Array(v[layer][(start * hkv * d)...]), [rows, hkv, d])
                )
                outputs.append(try answer.output.f32Values())
            }
            for layer in 0..<spec.layers {
                let answer = try await client.decode(
                    layer: layer,
                    entries: [Decode.Entry(sequenceID: id, queryTokens: 1)],
                    input: AttentionInput(
                        q: Self.tensor(decodeQ, [1, hq, d]),
                        k: Self.tensor(decodeK, [1, hkv, d]),
                        v: Self.tensor(decodeV, [1, hkv, d])
                    )
                )
                outputs.append(try answer.output.f32Values())
            }
            return outputs
        }

        let first = try await client.open(namespace: "tenant", tokens: prompt)
        #expect(first.cachedTokens == 0)
        // The first sequence prefills the two full pages, then the rest, as the second will.
        for layer in 0..<spec.layers {
            _ = try await client.prefill(
                sequenceID: first.sequenceID,
                layer: layer,
                startPosition: 0,
                q: Self.tensor(Array(q[layer][..<(32 * hq * d)]), [32, hq, d]),
                k: Self.tensor(Array(k[layer][..<(32 * hkv * d)]), [32, hkv, d]),
                v: Self.tensor(Array(v[layer][..<(32 * hkv * d)]), [32, hkv, d])
            )
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
        defer { Task { await client.disconnect() } }
        let raw = try ZMQEndpoint(
            .dealer,
            context: context,
            options: ZMQSocketOptions(maxMessageSize: nil),
            connect: [worker.endpoint]
        )
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
        var random = SplitMix64(seed: 3)
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
        var open = try Envelope(
            requestID: 78,
            message: .openSequence(OpenSequence(sequenceID: 0, namespace: "t", shardStart: 0, tokens: [1, 2, 3]))
        ).encode()
        let countOffset = open[0].count - 4 * 3 - 4
        withUnsafeBytes(of: UInt32(25_000_000).littleEndian) {
            open[0].replaceSubrange(countOffset..<countOffset + 4, with: $0)
        }
        #expect(code(try await answer(open)) == .badRequest)

        // Unknown sequence ids.
        await #expect(
            throws: ClusterClientError.refused(code: .unknownSequence, message: "no open sequence with id 424242")
        ) {
            try await client.truncate(sequenceID: 424242, length: 0)
        }
        await #expect(throws: ClusterClientError.self) {
            _ = try await client.decode(
                layer: 0,
                entries: [Decode.Entry(sequenceID: 99, queryTokens: 1)],
                input: AttentionInput(
                    q: Self.tensor(
                        [Float](repeating: 0, count: spec.queryHeads * spec.headDim),
                        [1, spec.queryHeads, spec.headDim]
                    ),
                    k: nil,
                    v: nil
                )
            )
        }

        // Wrong shapes, wrong layer, wrong start position.
        let id = try await client.open(namespace: "t", tokens: [1, 2, 3]).sequenceID
        let (hq, hkv, d) = (spec.queryHeads, spec.kvHeads, spec.headDim)
        func prefill(layer: Int = 0, start: Int = 0, heads: Int = 4) async -> ErrorCode? {
            do {
                _ = try await client.prefill(
                    sequenceID: id,
                    layer: layer,
                    startPosition: start,
                    q: Self.tensor([Float](repeating: 0.5, count: 2 * heads * d), [2, heads, d]),
                    k: Self.tensor([Float](repeating: 0.5, count: 2 * hkv * d), [2, hkv, d]),
                    v: Self.tensor([Float](repeating: 0.5, count: 2 * hkv * d), [2, hkv, d])
                )
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
        let foreign = try RawPage(
            layout: PageLayout(layers: 1, pageSize: 16, kvHeads: 2, headDim: 32, storage: .f16),
            values: [Float](repeating: 1, count: 2 * 16 * 2 * 32)
        )
        let key = try #require(PrefixKey(bytes: [UInt8](repeating: 9, count: 32)))
        let foreignPut = [EncodedPage(key: key, bytes: PageCodec().encode(foreign))]
        await #expect(
            throws: ClusterClientError.refused(
                code: .modelMismatch,
                message:
                    "page \(key) has layout \(foreign.layout), this worker's model needs \(try PageLayout(layers: 2, pageSize: 16, kvHeads: 2, headDim: 32, storage: .f16))"
            )
        ) {
            try await client.putPages(foreignPut)
        }

        // A frame over the max message size: ZeroMQ drops that connection; others are served.
        let oversize = try ZMQEndpoint(
            .dealer,
            context: context,
            options: ZMQSocketOptions(maxMessageSize: nil),
            connect: [worker.endpoint]
        )
        var huge = try Envelope(requestID: 79, message: .pagePut(PagePut(pages: [EncodedPage(key: key, bytes: [1])])))
            .encode()
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
        defer { Task { await client.disconnect() } }
        let layout = try PageLayout(
            layers: spec.layers,
            pageSize: spec.pageSize,
            kvHeads: spec.kvHeads,
            headDim: spec.headDim,
            storage: spec.kvStorage
        )
        var random = SplitMix64(seed: 5)
        let pages = try (0..<3).map { n in
            EncodedPage(
                key: try #require(PrefixKey(bytes: [UInt8](repeating: UInt8(n + 1), count: 32))),
                bytes: PageCodec().encode(
                    try RawPage(layout: layout, values: random.floats(layout.elementCount, in: -4..<4))
                )
            )
        }
        try await client.putPages(pages)
        let missing = try #require(PrefixKey(bytes: [UInt8](repeating: 0xEE, count: 32)))
        #expect(try await client.containsPages(pages.map(\.key) + [missing]) == [true, true, true, false])
        let fetched = try await client.getPages([pages[2].key, missing, pages[0].key])
        #expect(fetched.map(\.key) == [pages[2].key, pages[0].key])
        #expect(
            try fetched.map { try PageCodec().decode($0.bytes) }
                == [pages[2], pages[0]].map { try PageCodec().decode($0.bytes) }
        )
        try await client.removePages([pages[1].key, missing])
        #expect(try await client.containsPages(pages.map(\.key)) == [true, false, true])
        await #expect(
            throws: ClusterClientError.refused(
                code: .badRequest,
                message: "openSequence needs a compute worker; this one is a store"
            )
        ) {
            _ = try await client.open(namespace: "t", tokens: [1])
        }
        #expect(worker.terminate() == 0)
    }

    @Test("pipelined prefill chunks of one sequence are served in the order they were sent")
    func pipelinedChunks() async throws {
        let spec = try ModelSpec(parsing: Self.model("f16"))
        let worker = try WorkerProcess(model: Self.model("f16"))
        let context = try ZMQContext()
        let client = try ClusterClient(context: context, endpoint: worker.endpoint, timeout: .seconds(30))
        defer { Task { await client.disconnect() } }
        let id = try await client.open(namespace: "p", tokens: Array(0..<64)).sequenceID
        let raw = try ZMQEndpoint(.dealer, context: context, connect: [worker.endpoint])
        defer { Task { await raw.close() } }
        var random = SplitMix64(seed: 12)
        let (hq, hkv, d) = (spec.queryHeads, spec.kvHeads, spec.headDim)
        for chunk in 0..<8 {
            let input = try AttentionInput(
                q: Self.tensor(random.floats(8 * hq * d, in: -4..<4), [8, hq, d]),
                k: Self.tensor(random.floats(8 * hkv * d, in: -4..<4), [8, hkv, d]),
                v: Self.tensor(random.floats(8 * hkv * d, in: -4..<4), [8, hkv, d])
            )
            let prefill = try Prefill(sequenceID: id, layer: 0, startPosition: UInt32(chunk * 8), input: input)
            try await raw.send(
                try Envelope(requestID: UInt64(chunk + 1), message: .prefill(prefill)).encode(),
                timeout: .seconds(5)
            )
        }
        var answered: [UInt64] = []
        for _ in 0..<8 {
            let reply = try Envelope(frames: try await raw.receive(timeout: .seconds(20)))
            guard case .prefillReply = reply.message else {
                Issue.record("chunk \(reply.requestID) was refused: \(reply.message)")
                continue
            }
            answered.append(reply.requestID)
        }
        #expect(answered.sorted() == Array(1...8))
        #expect(worker.terminate() == 0)
    }

    @Test(
        "with a coordinator, the worker registers, heartbeats, sends numbered cache events, and deregisters on SIGTERM"
    )
    func registration() async throws {
        let spec = try ModelSpec(parsing: Self.model("f16"))
        let context = try ZMQContext()
        let coordinator = try ZMQEndpoint(.router, context: context, bind: ["tcp://127.0.0.1:*"])
        defer { Task { await coordinator.close() } }
        let worker = try WorkerProcess(
            model: Self.model("f16"),
            arguments: ["--coordinator", try #require(coordinator.boundEndpoints.first), "--worker-id", "42"]
        )
        func next() async throws -> ([UInt8], Envelope) {
            // Generous: under a full parallel test run the shared threads can be busy for seconds.
            let frames = try await coordinator.receive(timeout: .seconds(60))
            return (Array(frames[0]), try Envelope(frames: Array(frames.dropFirst())))
        }
        let (identity, register) = try await next()
        guard case .registerWorker(let body) = register.message else {
            throw ServiceError.internal("expected RegisterWorker, got \(register.message)")
        }
        #expect(body.workerID == 42)
        #expect(body.endpoint == worker.endpoint)
        #expect(body.modelFingerprint == spec.fingerprint)
        try await coordinator.send(
            [identity]
                + Envelope(
                    requestID: register.requestID,
                    message: .registerWorkerReply(RegisterWorkerReply(outcome: .accepted(spec)))
                ).encode(),
            timeout: .seconds(5)
        )
        let (_, heartbeat) = try await next()
        guard case .heartbeat(let beat) = heartbeat.message else {
            throw ServiceError.internal("expected Heartbeat, got \(heartbeat.message)")
        }
        #expect(beat.workerID == 42)
        #expect(beat.lastEventSequence == 0)

        // A committed sequence of 20 tokens stores one page: event 1.
        let client = try ClusterClient(context: context, endpoint: worker.endpoint, timeout: .seconds(30))
        defer { Task { await client.disconnect() } }
        let tokens = Array(UInt32(0)..<20)
        let id = try await client.open(namespace: "r", tokens: tokens).sequenceID
        var random = SplitMix64(seed: 13)
        let (hq, hkv, d) = (spec.queryHeads, spec.kvHeads, spec.headDim)
        for layer in 0..<spec.layers {
            _ = try await client.prefill(
                sequenceID: id,
                layer: layer,
                startPosition: 0,
                q: Self.tensor(random.floats(20 * hq * d, in: -4..<4), [20, hq, d]),
                k: Self.tensor(random.floats(20 * hkv * d, in: -4..<4), [20, hkv, d]),
                v: Self.tensor(random.floats(20 * hkv * d, in: -4..<4), [20, hkv, d])
            )
        }
        try await client.close(sequenceID: id, commit: true)
        var event: CacheEvent?
        for _ in 0..<5 where event == nil {
            if case .cacheEvent(let body) = try await next().1.message { event = body }
        }
        #expect(
            event
                == CacheEvent(
                    workerID: 42,
                    eventSequence: 1,
                    kind: .stored,
                    keys: PrefixKey.chain(
                        namespace: "r",
                        fingerprint: spec.fingerprint,
                        tokens: tokens,
                        pageSize: spec.pageSize
                    )
                )
        )

        // After `notRegistered` the worker registers again.
        var again: Envelope?
        for _ in 0..<5 where again == nil {
            let (sender, message) = try await next()
            if case .heartbeat(let beat) = message.message {
                #expect(beat.lastEventSequence == 1)
                try await coordinator.send(
                    [sender]
                        + Envelope(
                            requestID: message.requestID,
                            message: .errorReply(ErrorReply(code: .notRegistered, message: "restarted"))
                        ).encode(),
                    timeout: .seconds(5)
                )
            } else if case .registerWorker = message.message {
                again = message
            }
        }
        let reRegistration = try #require(again)
        try await coordinator.send(
            [identity]
                + Envelope(
                    requestID: reRegistration.requestID,
                    message: .registerWorkerReply(RegisterWorkerReply(outcome: .accepted(spec)))
                ).encode(),
            timeout: .seconds(5)
        )

        // The first heartbeat after the new RegisterWorker shows the worker took the acceptance
        // (it sends none while registering): only a registered worker deregisters.
        var registeredAgain = false
        for _ in 0..<10 where !registeredAgain {
            if case .heartbeat = try await next().1.message { registeredAgain = true }
        }
        #expect(registeredAgain)

        // On SIGTERM the worker deregisters, waits for the Ack, and exits 0.
        worker.sendTermination()
        var deregistration: Envelope?
        for _ in 0..<10 where deregistration == nil {
            let (sender, message) = try await next()
            if case .deregisterWorker(let body) = message.message {
                #expect(body.workerID == 42)
                deregistration = message
                try await coordinator.send(
                    [sender] + Envelope(requestID: message.requestID, message: .ack(Ack())).encode(),
                    timeout: .seconds(5)
                )
            }
        }
        #expect(deregistration != nil)
        #expect(worker.waitForExit() == 0)
    }

    @Test(
        "with --curve-secret, only clients that know the worker's public key are served",
        .enabled(if: ZMQContext.hasCurve)
    )
    func curve() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "mfa-worker-curve-\(UInt64.random(in: 0...UInt64.max))"
        )
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let workerKeys = try ZMQCurveKeyPair.generate()
        let keyFile = directory.appendingPathComponent("worker.key").path
        try workerKeys.write(to: keyFile)
        let worker = try WorkerProcess(model: Self.model("f16"), arguments: ["--curve-secret", keyFile])
        let context = try ZMQContext()
        let secure = try ClusterClient(
            context: context,
            endpoint: worker.endpoint,
            timeout: .seconds(10),
            options: ZMQSocketOptions(curve: .client(try ZMQCurveKeyPair.generate(), serverKey: workerKeys.publicKey))
        )
        defer { Task { await secure.disconnect() } }
        #expect(try await secure.stats()["requests"] == 1)
        let plain = try ClusterClient(context: context, endpoint: worker.endpoint, timeout: .milliseconds(500))
        defer { Task { await plain.disconnect() } }
        await #expect(throws: ClusterClientError.self) { _ = try await plain.stats() }
        #expect(worker.terminate() == 0)
    }

    @Test("PullPages copies pages from a peer worker; a key the peer lacks is reported missing")
    func pullFromPeer() async throws {
        let model = Self.model("bf16")
        let spec = try ModelSpec(parsing: model)
        let holder = try WorkerProcess(model: model, arguments: ["--role", "store"])
        let puller = try WorkerProcess(model: model)
        let context = try ZMQContext()
        let holderClient = try ClusterClient(context: context, endpoint: holder.endpoint, timeout: .seconds(30))
        let pullerClient = try ClusterClient(context: context, endpoint: puller.endpoint, timeout: .seconds(30))
        defer {
            Task {
                await holderClient.disconnect()
                await pullerClient.disconnect()
            }
        }
        let layout = try PageLayout(
            layers: spec.layers,
            pageSize: spec.pageSize,
            kvHeads: spec.kvHeads,
            headDim: spec.headDim,
            storage: spec.kvStorage
        )
        var random = SplitMix64(seed: 14)
        let keys = PrefixKey.chain(
            namespace: "pull",
            fingerprint: spec.fingerprint,
            tokens: Array(0..<33),
            pageSize: spec.pageSize
        )
        let pages = try keys.map {
            EncodedPage(
                key: $0,
                bytes: PageCodec().encode(
                    try RawPage(layout: layout, values: random.floats(layout.elementCount, in: -4..<4))
                )
            )
        }
        try await holderClient.putPages(pages)
        let missing = try #require(PrefixKey(bytes: [UInt8](repeating: 0x5A, count: 32)))
        let reply = try await pullerClient.request(
            .pullPages(PullPages(peerEndpoint: holder.endpoint, keys: keys + [missing]))
        )
        #expect(reply == .pullPagesReply(PullPagesReply(pulled: [true, true, false])))
        // The puller counts what it received: two pages, their size decoded and as they travelled.
        let received = try await pullerClient.stats()
        #expect(received["peer_pages_received"] == 2)
        #expect(received["peer_bytes_received"] == UInt64(2 * layout.rawByteCount))
        #expect((received["peer_bytes_received_encoded"] ?? 0) > 0)
        #expect(
            try await pullerClient.getPages(keys).map { try PageCodec().decode($0.bytes) }
                == pages.map { try PageCodec().decode($0.bytes) }
        )
        // The pulled pages serve a prompt hit on the puller.
        #expect(try await pullerClient.open(namespace: "pull", tokens: Array(0..<33)).cachedTokens == 32)
        #expect(holder.terminate() == 0)
        #expect(puller.terminate() == 0)
    }

    @Test("SIGTERM makes the worker exit with status 0")
    func terminates() throws {
        let worker = try WorkerProcess(model: Self.model("f16"))
        #expect(worker.terminate(timeout: .seconds(10)) == 0)
    }
}

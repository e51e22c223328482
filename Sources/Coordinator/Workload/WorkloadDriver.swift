import CacheProtocol
import Kernels

/// Replays a workload through a `ClusterClient` (to a coordinator or a single worker: the messages
/// are the same) and measures it from the client's side.
///
/// Each request opens its prompt, prefills every layer from the first uncached token (random
/// queries; K/V from `SyntheticKV`, so equal prefixes carry equal K/V), decodes its output tokens
/// one step at a time (every layer a step), and closes with commit so that later requests can hit
/// its prompt pages. At most `concurrency` requests are in flight; with arrivals set, a request
/// starts no earlier than its arrival. The answers of `checkedRequests` requests, spread over the
/// workload, are compared with the Kernels' dense attention over the same K/V (`DenseReference`).
public struct WorkloadDriver: Sendable {
    /// The cluster's model.
    public var spec: ModelSpec
    /// Requests in flight at most.
    public var concurrency: Int
    /// Requests whose every answer is checked against the reference.
    public var checkedRequests: Int
    /// Largest accepted deviation of a checked answer (`AnswerDeviation`).
    public var tolerance: Float
    /// Seed of queries, generated tokens and K/V.
    public var seed: UInt64

    /// A driver for `spec`.
    public init(spec: ModelSpec, concurrency: Int, checkedRequests: Int, tolerance: Float = 1e-3, seed: UInt64 = 7) {
        self.spec = spec
        self.concurrency = max(1, concurrency)
        self.checkedRequests = max(0, checkedRequests)
        self.tolerance = tolerance
        self.seed = seed
    }

    /// Runs `requests` through `client`; `progress(done, total)` is called as requests finish.
    public func run(
        _ requests: [WorkloadRequest],
        client: ClusterClient,
        progress: @escaping @Sendable (Int, Int) -> Void = { _, _ in }
    ) async -> WorkloadMeasurements {
        var measurements = WorkloadMeasurements()
        measurements.requests = requests.count
        let stride = checkedRequests == 0 ? Int.max : max(1, requests.count / checkedRequests)
        let started = ContinuousClock.now
        await withTaskGroup(of: RequestMeasurement.self) { group in
            var inFlight = 0
            var done = 0
            for (index, request) in requests.enumerated() {
                if inFlight == concurrency, let finished = await group.next() {
                    measurements.merge(finished)
                    inFlight -= 1
                    done += 1
                    progress(done, requests.count)
                }
                let due = started + request.arrival
                if due > .now { try? await Task.sleep(until: due, clock: .continuous) }
                let checked = index % stride == 0 && index / stride < checkedRequests
                group.addTask {
                    await execute(request, index: index, client: client, checked: checked)
                }
                inFlight += 1
            }
            for await finished in group {
                measurements.merge(finished)
                done += 1
                progress(done, requests.count)
            }
        }
        measurements.wall = started.duration(to: .now)
        return measurements
    }

    /// One request, start to close.
    private func execute(
        _ request: WorkloadRequest,
        index: Int,
        client: ClusterClient,
        checked: Bool
    ) async
        -> RequestMeasurement
    {
        var measurement = RequestMeasurement()
        measurement.promptTokens = request.tokens.count
        var sequence = CheckedSequence(
            spec: spec,
            kv: SyntheticKV(seed: seed, rowWidth: spec.kvHeads * spec.headDim),
            checked: checked,
            tolerance: tolerance
        )
        var random = SplitMix64(seed: seed ^ (UInt64(index) &* 0x9E37_79B9_7F4A_7C15))
        let started = ContinuousClock.now
        var opened: UInt64?
        do {
            let (id, cached) = try await client.open(namespace: request.namespace, tokens: request.tokens)
            opened = id
            measurement.cachedTokens = cached
            sequence.remember(request.tokens.prefix(cached), from: 0)
            let fresh = request.tokens[cached...]
            if !fresh.isEmpty {
                for layer in 0..<spec.layers {
                    let q = random.floats(fresh.count * spec.queryHeads * spec.headDim)
                    let (keys, values) = sequence.kv.rows(layer: layer, start: cached, tokens: fresh)
                    let answer = try await client.prefill(
                        sequenceID: id,
                        layer: layer,
                        startPosition: cached,
                        q: try tensor(q, rows: fresh.count, heads: spec.queryHeads),
                        k: try tensor(keys, rows: fresh.count, heads: spec.kvHeads),
                        v: try tensor(values, rows: fresh.count, heads: spec.kvHeads)
                    )
                    sequence.append(layer: layer, keys: keys, values: values)
                    sequence.check(layer: layer, queries: q, answer: answer)
                }
            }
            measurement.prefilledTokens = fresh.count
            measurement.prefillLatency = started.duration(to: .now)
            var position = request.tokens.count
            for _ in 0..<request.outputTokens {
                let token = UInt32(truncatingIfNeeded: random.next() >> 33)
                let stepStarted = ContinuousClock.now
                for layer in 0..<spec.layers {
                    let q = random.floats(spec.queryHeads * spec.headDim)
                    let (keys, values) = sequence.kv.rows(layer: layer, start: position, tokens: [token])
                    let input = try AttentionInput(
                        q: try tensor(q, rows: 1, heads: spec.queryHeads),
                        k: try tensor(keys, rows: 1, heads: spec.kvHeads),
                        v: try tensor(values, rows: 1, heads: spec.kvHeads)
                    )
                    let answer = try await client.decode(
                        layer: layer,
                        entries: [Decode.Entry(sequenceID: id, queryTokens: 1)],
                        input: input
                    )
                    sequence.append(layer: layer, keys: keys, values: values)
                    sequence.check(layer: layer, queries: q, answer: answer)
                }
                measurement.stepLatency.add(stepStarted.duration(to: .now))
                measurement.decodedTokens += 1
                position += 1
            }
            opened = nil
            try await client.close(sequenceID: id, commit: true)
        } catch {
            measurement.error = "request \(index): \(error)"
            if let id = opened { try? await client.close(sequenceID: id, commit: false) }
        }
        measurement.checkedAnswers = sequence.checkedAnswers
        measurement.failedChecks = sequence.failedChecks
        measurement.worstDeviation = sequence.worstDeviation
        return measurement
    }

    private func tensor(_ values: [Float], rows: Int, heads: Int) throws(WireError) -> WireTensor {
        try WireTensor(f32: values, shape: [rows, heads, spec.headDim])
    }
}

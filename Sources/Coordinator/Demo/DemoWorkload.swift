import CacheProtocol
import Foundation
import Kernels

/// The workload of the cluster demo, driven through a `ClusterClient` against a compute worker and
/// checked answer by answer against `DenseReference` on the same K/V.
///
/// Two tenants (`acme`, `globex`) open four sequences, three of them starting with the same
/// system prompt; every layer is prefilled; the batch decodes `decodeSteps` steps, one of them a
/// speculative verify of 3 tokens for the first sequence followed by a truncate to the 1 token
/// accepted; all close with commit. A long `globex` document then pushes the cached pages down the
/// compute worker's tiers, after which `acme` re-opens its system prompt (a prefix hit, its pages
/// promoted back and checked through the prefill that follows) and a third tenant opens the same
/// tokens (no hit: namespaces isolate tenants).
///
/// K/V rows are a function of (layer, position, token), like a model's: equal prefixes have equal
/// K/V, so a cached page is right exactly when its bytes match what the reference attends over.
struct DemoWorkload {
    /// The cluster's model.
    let spec: ModelSpec
    /// The connection to the compute worker.
    let client: ClusterClient
    /// Tokens of the system prompt the sequences share.
    let systemPromptLength: Int
    /// Decode steps of the batch.
    let decodeSteps: Int
    /// Tokens of the document that fills the hot pool.
    let documentLength: Int
    /// Largest accepted relative error of an answer against the reference.
    let tolerance: Float
    /// Seed of every token, query and K/V row.
    let seed: UInt64
    /// The lines and failures so far.
    private(set) var report = ClusterDemoReport()

    private var random: SplitMix64
    private let reference: DenseReference
    private let kv: SyntheticKV
    private var phaseStarted = ContinuousClock.now
    private var requestTime = Duration.zero
    private var checks = 0
    private var failedChecks = 0
    private var worstError: Float = 0
    private var prefilledTokens = 0
    private var decodedRows = 0

    /// A workload for `spec` through `client`.
    init(
        spec: ModelSpec,
        client: ClusterClient,
        systemPromptLength: Int,
        decodeSteps: Int,
        documentLength: Int,
        tolerance: Float,
        seed: UInt64
    ) {
        self.spec = spec
        self.client = client
        self.systemPromptLength = systemPromptLength
        self.decodeSteps = decodeSteps
        self.documentLength = documentLength
        self.tolerance = tolerance
        self.seed = seed
        random = SplitMix64(seed: seed)
        kv = SyntheticKV(seed: seed, rowWidth: spec.kvHeads * spec.headDim)
        reference = DenseReference(
            queryHeads: spec.queryHeads,
            kvHeads: spec.kvHeads,
            headDim: spec.headDim,
            storage: spec.kvStorage
        )
    }

    /// Runs every phase; a failed check is recorded in `report`, a failed request is thrown.
    mutating func run() async throws {
        let system = (0..<systemPromptLength).map { UInt32(1000 + $0) }
        var batch = [
            DemoSequence(label: "acme/1", namespace: "acme", prompt: system + tokens(20), layers: spec.layers),
            DemoSequence(label: "acme/2", namespace: "acme", prompt: system + tokens(37), layers: spec.layers),
            DemoSequence(label: "globex/1", namespace: "globex", prompt: system + tokens(25), layers: spec.layers),
            DemoSequence(label: "globex/2", namespace: "globex", prompt: tokens(40), layers: spec.layers),
        ]

        startPhase()
        for index in batch.indices { try await open(&batch[index]) }
        endPhase(
            "open",
            batch.map { "\($0.label) \($0.prompt.count) tokens, \($0.cachedTokens) cached" }.joined(separator: "; ")
        )

        startPhase()
        for layer in 0..<spec.layers {
            for index in batch.indices { try await prefill(&batch[index], layer: layer) }
        }
        let prefilled = batch.reduce(0) { $0 + $1.prompt.count - $1.cachedTokens }
        endPhase("prefill", "\(prefilled) tokens of \(batch.count) sequences × \(spec.layers) layers, causal, checked")

        startPhase()
        let verifyStep = decodeSteps / 2
        for step in 0..<decodeSteps {
            let tokensPerEntry = batch.indices.map { $0 == 0 && step == verifyStep ? 3 : 1 }
            try await decode(&batch, tokensPerEntry: tokensPerEntry)
            decodedRows += tokensPerEntry.reduce(0, +)
            if step == verifyStep {
                let accepted = batch[0].length(layer: 0) - 2
                let started = ContinuousClock.now
                try await client.truncate(sequenceID: batch[0].id, length: accepted)
                requestTime += started.duration(to: .now)
                batch[0].truncate(to: accepted)
            }
        }
        endPhase(
            "decode",
            "\(decodeSteps) batched steps × \(spec.layers) layers, \(decodedRows) query rows per layer; step \(verifyStep + 1) "
                + "verified 3 speculative tokens of \(batch[0].label), accepted 1, truncated to \(batch[0].length(layer: 0))"
        )

        startPhase()
        for sequence in batch { try await close(sequence, commit: true) }
        endPhase("close", "\(batch.count) sequences closed with commit: their full prompt pages enter the prefix cache")

        startPhase()
        var document = DemoSequence(
            label: "globex/doc",
            namespace: "globex",
            prompt: tokens(documentLength),
            layers: spec.layers
        )
        try await open(&document)
        for layer in 0..<spec.layers { try await prefill(&document, layer: layer) }
        try await close(document, commit: true)
        endPhase(
            "pressure",
            "\(document.label): \(documentLength) tokens (\(documentLength / spec.pageSize) pages) prefilled and committed, "
                + "pushing older cached pages down the tiers"
        )

        startPhase()
        var again = DemoSequence(label: "acme/3", namespace: "acme", prompt: system + tokens(10), layers: spec.layers)
        try await open(&again)
        for layer in 0..<spec.layers { try await prefill(&again, layer: layer) }
        try await close(again, commit: false)
        var stranger = DemoSequence(label: "initech/1", namespace: "initech", prompt: again.prompt, layers: spec.layers)
        try await open(&stranger)
        try await close(stranger, commit: false)
        let hit = again.cachedTokens == systemPromptLength
        endPhase(
            "re-open",
            "\(again.label) (system prompt + 10 tokens): \(again.cachedTokens) of \(again.prompt.count) tokens cached "
                + (hit ? "(prefix hit)" : "(expected \(systemPromptLength))")
                + ", the rest prefilled and checked over the cached K/V; \(stranger.label) (same tokens, another tenant): "
                + "\(stranger.cachedTokens) cached"
        )
        if !hit {
            report.fail(
                "re-open: \(again.label) found \(again.cachedTokens) cached tokens, expected \(systemPromptLength)"
            )
        }
        if stranger.cachedTokens != 0 {
            report.fail(
                "re-open: \(stranger.label) found \(stranger.cachedTokens) cached tokens of another tenant's prompt"
            )
        }
        report.say(
            "totals    \(prefilledTokens) tokens prefilled and \(decodedRows) query rows decoded (each in \(spec.layers) layers); "
                + "prefix hits: \(again.cachedTokens) tokens of \(again.label)"
        )
        report.say(
            "checks    \(checks) answers compared with the dense reference, max relative error \(ClusterDemoReport.scientific(worstError)) "
                + "(tolerance \(ClusterDemoReport.scientific(tolerance)))"
        )
    }

    /// Records the error that stopped the workload before its end.
    mutating func stopped(by error: String) { report.fail("workload stopped: \(error)") }

    // MARK: Requests

    private mutating func open(_ sequence: inout DemoSequence) async throws {
        let started = ContinuousClock.now
        let opened = try await client.open(namespace: sequence.namespace, tokens: sequence.prompt)
        requestTime += started.duration(to: .now)
        guard (0...sequence.prompt.count).contains(opened.cachedTokens) else {
            throw ClusterDemoError.badAnswer(
                "open of \(sequence.label) reports \(opened.cachedTokens) cached tokens of a \(sequence.prompt.count)-token prompt"
            )
        }
        sequence.id = opened.sequenceID
        sequence.cachedTokens = opened.cachedTokens
        for layer in 0..<spec.layers {
            for position in 0..<opened.cachedTokens {
                let token = sequence.prompt[position]
                sequence.keys[layer].append(kv.row(layer: layer, position: position, token: token, value: false))
                sequence.values[layer].append(kv.row(layer: layer, position: position, token: token, value: true))
            }
        }
    }

    /// Prefills the uncached prompt tokens of `layer` in one chunk and checks the answer.
    private mutating func prefill(_ sequence: inout DemoSequence, layer: Int) async throws {
        let start = sequence.length(layer: layer)
        let newTokens = Array(sequence.prompt[start...])
        let queries = random.floats(newTokens.count * spec.queryHeads * spec.headDim)
        let (keys, values) = append(newTokens, to: &sequence, layer: layer)
        let started = ContinuousClock.now
        let answer = try await client.prefill(
            sequenceID: sequence.id,
            layer: layer,
            startPosition: start,
            q: try WireTensor(f32: queries, shape: [newTokens.count, spec.queryHeads, spec.headDim]),
            k: try WireTensor(f32: keys, shape: [newTokens.count, spec.kvHeads, spec.headDim]),
            v: try WireTensor(f32: values, shape: [newTokens.count, spec.kvHeads, spec.headDim])
        )
        requestTime += started.duration(to: .now)
        if layer == 0 { prefilledTokens += newTokens.count }
        try check(
            output: answer.output.f32Values(),
            lse: answer.lse.f32Values(),
            expected: reference.attention(queries: queries, keys: sequence.keys[layer], values: sequence.values[layer])
        )
    }

    /// One batched decode step of every layer: entry `i` appends and queries `tokensPerEntry[i]`
    /// tokens; each entry's rows are checked.
    private mutating func decode(_ batch: inout [DemoSequence], tokensPerEntry: [Int]) async throws {
        let stepTokens = tokensPerEntry.map { tokens($0) }
        let entries = batch.indices.map {
            Decode.Entry(sequenceID: batch[$0].id, queryTokens: UInt32(tokensPerEntry[$0]))
        }
        let rows = tokensPerEntry.reduce(0, +)
        let queryWidth = spec.queryHeads * spec.headDim
        for layer in 0..<spec.layers {
            let queries = random.floats(rows * queryWidth)
            var keys: [Float] = []
            var values: [Float] = []
            for index in batch.indices {
                let appended = append(stepTokens[index], to: &batch[index], layer: layer)
                keys += appended.keys
                values += appended.values
            }
            let started = ContinuousClock.now
            let answer = try await client.decode(
                layer: layer,
                entries: entries,
                input: AttentionInput(
                    q: WireTensor(f32: queries, shape: [rows, spec.queryHeads, spec.headDim]),
                    k: WireTensor(f32: keys, shape: [rows, spec.kvHeads, spec.headDim]),
                    v: WireTensor(f32: values, shape: [rows, spec.kvHeads, spec.headDim])
                )
            )
            requestTime += started.duration(to: .now)
            let output = try answer.output.f32Values()
            let lse = try answer.lse.f32Values()
            var first = 0
            for index in batch.indices {
                let count = tokensPerEntry[index]
                let slice = first..<first + count
                first += count
                try check(
                    output: Array(output[clamped(slice, queryWidth, output.count)]),
                    lse: Array(lse[clamped(slice, spec.queryHeads, lse.count)]),
                    expected: reference.attention(
                        queries: Array(queries[slice.lowerBound * queryWidth..<slice.upperBound * queryWidth]),
                        keys: batch[index].keys[layer],
                        values: batch[index].values[layer]
                    )
                )
            }
        }
    }

    private mutating func close(_ sequence: DemoSequence, commit: Bool) async throws {
        let started = ContinuousClock.now
        try await client.close(sequenceID: sequence.id, commit: commit)
        requestTime += started.duration(to: .now)
    }

    // MARK: Data and checks

    /// `count` random token ids.
    private mutating func tokens(_ count: Int) -> [UInt32] {
        (0..<count).map { _ in UInt32(truncatingIfNeeded: random.next() % 32_000) }
    }

    /// Appends `tokens`' K/V rows to `layer` of `sequence`; returns them flattened `[T, Hkv, D]`.
    private func append(
        _ tokens: [UInt32],
        to sequence: inout DemoSequence,
        layer: Int
    ) -> (keys: [Float], values: [Float]) {
        var keys: [Float] = []
        var values: [Float] = []
        for token in tokens {
            let position = sequence.length(layer: layer)
            let key = kv.row(layer: layer, position: position, token: token, value: false)
            let value = kv.row(layer: layer, position: position, token: token, value: true)
            sequence.keys[layer].append(key)
            sequence.values[layer].append(value)
            keys += key
            values += value
        }
        return (keys, values)
    }

    /// The elements of `rows` rows of `width` elements, limited to `count` (a short answer then
    /// fails its check instead of trapping).
    private func clamped(_ rows: Range<Int>, _ width: Int, _ count: Int) -> Range<Int> {
        min(rows.lowerBound * width, count)..<min(rows.upperBound * width, count)
    }

    /// Compares an answer with the reference: the larger of the output's and the log-sum-exp's
    /// relative error (max absolute difference over the reference's largest magnitude).
    private mutating func check(output: [Float], lse: [Float], expected: AttentionResult) {
        let error = AnswerDeviation.of(output: output, lse: lse, expected: (expected.output, expected.logSumExp))
        checks += 1
        worstError = max(worstError, error)
        if !(error <= tolerance) { failedChecks += 1 }
    }

    // MARK: Report

    private mutating func startPhase() {
        phaseStarted = .now
        requestTime = .zero
        failedChecks = 0
    }

    /// Reports a phase: its wall time (requests and checks) and the time its requests took.
    private mutating func endPhase(_ name: String, _ detail: String) {
        let wall = phaseStarted.duration(to: .now)
        report.say(
            "\(name.padding(toLength: 9, withPad: " ", startingAt: 0)) \(ClusterDemoReport.milliseconds(wall)) ms "
                + "(requests \(ClusterDemoReport.milliseconds(requestTime)) ms)  \(detail)"
        )
        if failedChecks > 0 {
            report.fail(
                "\(name): \(failedChecks) answers differ from the dense reference by more than \(ClusterDemoReport.scientific(tolerance))"
            )
        }
    }
}

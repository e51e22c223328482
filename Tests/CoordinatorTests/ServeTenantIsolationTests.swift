import CacheProtocol
import Foundation
import Kernels
import TestSupport
import Testing

@testable import Coordinator

/// Tenant isolation on a real served cluster (`mfa-coordinator serve` and two `mfa-worker`s on
/// loopback): a prompt's cached pages are found only under the namespace that committed them, and
/// one tenant cannot remove another's.
///
/// The ways a client touches cached pages, and why they stay per tenant:
/// - `OpenSequence(namespace, tokens)` is the only request that looks pages up, and it looks up
///   `PrefixKey`s, which hash the namespace with the model and the tokens: the same tokens under
///   another namespace are other keys, so they neither hit nor are placed on (or pulled from) the
///   holder of the first tenant's pages.
/// - The coordinator takes no request that names pages: `PageGet`, `PageContains`, `PagePut`,
///   `PageRemove`, `PullPages` and `PrefetchPages` from a client are refused `badRequest`. A
///   tenant's only ways to let pages go are truncating or closing its own sequence (with or
///   without commit), which release that sequence's pages and never a cached page.
/// - A worker's own endpoint takes `PageRemove` and the other page requests with raw keys. It is
///   meant for the coordinator and the workers' peers, not for clients; there, removing a tenant's
///   keys removes that tenant's pages only, since another tenant's keys for the same tokens differ.
@Suite("tenant isolation on a served cluster", .serialized)
struct ServeTenantIsolationTests {
    static let model = ServeEndToEndTests.model("f16")
    /// 40 tokens: two full pages of 16 are committed, 32 tokens.
    static let prompt = (0..<40).map { UInt32($0 * 11 + 5) }
    static let committedTokens = 32

    /// Opens `prompt` under `namespace` through the coordinator and prefills it, every answer
    /// checked against the reference over the sequence's own rows (`cachedTokens` must be 0).
    static func openAndPrefill(
        _ namespace: String,
        _ cluster: ServedCluster,
        spec: ModelSpec,
        random: inout SplitMix64
    ) async throws -> ServedSequence {
        try await ServeEndToEndTests.openAndPrefill(
            cluster,
            namespace: namespace,
            tokens: prompt,
            spec: spec,
            random: &random
        )
    }

    /// Closes `sequence` with commit and waits until its worker's pages are indexed and it reports
    /// no open sequence.
    static func commit(_ sequence: ServedSequence, _ cluster: ServedCluster, pages: UInt64) async throws {
        try await cluster.client.close(sequenceID: sequence.id, commit: true)
        try await cluster.waitUntil("the committed pages are indexed and the holder reports no sequence") { stats in
            (stats["worker.\(sequence.worker).pages.hot"] ?? 0) >= pages
                && stats["worker.\(sequence.worker).live_sequences"] == 0
        }
    }

    /// The code `operation` was refused with; `nil` when it succeeded or failed otherwise.
    static func refusal(_ operation: () async throws -> Void) async -> ErrorCode? {
        do {
            try await operation()
            return nil
        } catch let error as ClusterClientError {
            if case .refused(let code, _) = error { return code }
            return nil
        } catch {
            return nil
        }
    }

    static func keys(_ namespace: String, spec: ModelSpec) -> [PrefixKey] {
        PrefixKey.chain(namespace: namespace, fingerprint: spec.fingerprint, tokens: prompt, pageSize: spec.pageSize)
    }

    @Test(
        "the same prompt under two namespaces gives two misses; under the first again a hit on its own pages, answers matching the reference"
    )
    func samePromptTwoNamespaces() async throws {
        let spec = try ModelSpec(parsing: Self.model)
        let cluster = try await ServedCluster(model: Self.model, workerCount: 2)
        var random = SplitMix64(seed: 14)

        // `openAndPrefill` expects `cachedTokens == 0` and checks every prefill answer against the
        // reference over the sequence's own rows: tenant-b's answers attend no page of tenant-a.
        let a = try await Self.openAndPrefill("tenant-a", cluster, spec: spec, random: &random)
        try await Self.commit(a, cluster, pages: 2)
        let b = try await Self.openAndPrefill("tenant-b", cluster, spec: spec, random: &random)
        #expect((try await cluster.stats())["cluster.cached_tokens"] == 0)
        try await Self.commit(b, cluster, pages: b.worker == a.worker ? 4 : 2)

        // Each tenant now finds its own pages: the answers over the cached prefix match the
        // reference over that tenant's rows (not the other's), and decoding goes on matching it.
        var reused: [ServedSequence] = []
        for original in [a, b] {
            let namespace = original.id == a.id ? "tenant-a" : "tenant-b"
            let again = try await cluster.openTracked(namespace: namespace, tokens: Self.prompt)
            #expect(again.cachedTokens == Self.committedTokens, "\(namespace)")
            // The first finds its holder idle; the second may find it busy with the first and have
            // its pages pulled to the other worker: either way, its own pages.
            if original.id == a.id { #expect(again.worker == original.worker) }
            reused.append(
                try await ServeEndToEndTests.prefillAfterHit(
                    cluster,
                    id: again.sequenceID,
                    worker: again.worker,
                    cachedTokens: Self.committedTokens,
                    original: original,
                    spec: spec,
                    random: &random
                )
            )
        }
        try await ServeEndToEndTests.singleSteps(2, cluster, &reused, spec: spec, random: &random)
        let stats = try await cluster.stats()
        #expect(stats["cluster.cached_tokens"] == UInt64(2 * Self.committedTokens))
        #expect(stats["cluster.sequences.failed"] == 0)
        await cluster.stop()
    }

    /// The coordinator has no client request that removes pages: `PageRemove` (with either
    /// tenant's keys) is refused. Tenant-b's own ways to let pages go — truncating its sequence
    /// of the same prompt to nothing and closing it without commit — leave tenant-a's pages; so
    /// does removing tenant-b's keys of the same tokens on every worker's own endpoint.
    @Test(
        "a tenant cannot remove another's pages: not through the coordinator, not by truncating or closing its own sequence, not by removing its own keys"
    )
    func cannotRemoveAnothersPages() async throws {
        let spec = try ModelSpec(parsing: Self.model)
        let cluster = try await ServedCluster(model: Self.model, workerCount: 2)
        var random = SplitMix64(seed: 15)
        let keysA = Self.keys("tenant-a", spec: spec)
        let keysB = Self.keys("tenant-b", spec: spec)
        #expect(keysA.count == 2 && keysB.count == 2)
        #expect(Set(keysA).isDisjoint(with: keysB))

        let a = try await Self.openAndPrefill("tenant-a", cluster, spec: spec, random: &random)
        try await Self.commit(a, cluster, pages: 2)
        try await cluster.waitUntil("tenant-a's two pages are indexed") { $0["cluster.index.pages"] == 2 }

        // Through the coordinator: no page request at all.
        for keys in [keysB, keysA] {
            #expect(await Self.refusal { try await cluster.client.removePages(keys) } == .badRequest)
            #expect(await Self.refusal { _ = try await cluster.client.getPages(keys) } == .badRequest)
        }

        // Tenant-b's sequence of the same prompt: a miss, prefilled, truncated to nothing, closed
        // without commit.
        var b = try await Self.openAndPrefill("tenant-b", cluster, spec: spec, random: &random)
        try await cluster.client.truncate(sequenceID: b.id, length: 0)
        b.truncate(to: 0, spec: spec)
        try await cluster.client.close(sequenceID: b.id, commit: false)

        // Tenant-b's keys of the same tokens removed on each worker's own endpoint.
        for (id, worker) in cluster.workers.sorted(by: { $0.key < $1.key }) {
            let direct = try ClusterClient(context: cluster.context, endpoint: worker.endpoint, timeout: .seconds(20))
            try await direct.removePages(keysB)
            if id == a.worker {
                #expect(try await direct.containsPages(keysA) == [true, true])
            }
            await direct.disconnect()
        }
        try await cluster.waitUntil("tenant-b's sequence is gone") { stats in
            stats["worker.\(b.worker).live_sequences"] == 0
        }
        #expect(try await cluster.stats()["cluster.index.pages"] == 2)

        // Tenant-a still hits its pages, which are still its rows.
        let again = try await cluster.openTracked(namespace: "tenant-a", tokens: Self.prompt)
        #expect(again.cachedTokens == Self.committedTokens)
        #expect(again.worker == a.worker)
        var reused = [
            try await ServeEndToEndTests.prefillAfterHit(
                cluster,
                id: again.sequenceID,
                worker: again.worker,
                cachedTokens: Self.committedTokens,
                original: a,
                spec: spec,
                random: &random
            )
        ]
        try await ServeEndToEndTests.singleSteps(1, cluster, &reused, spec: spec, random: &random)
        #expect((try await cluster.stats())["cluster.sequences.failed"] == 0)
        await cluster.stop()
    }
}

/// The same isolation in the coordinator's state machine: its prefix index and its cache of prefix
/// keys keep tenants apart, and it takes no client request naming pages.
@Suite("tenant isolation in the coordinator")
struct CoordinatorTenantIsolationTests {
    @Test("an open under another namespace is not placed on, nor pulls from, the holder of the same tokens' pages")
    func openUnderAnotherNamespace() throws {
        var harness = try CoordinatorHarness()
        let tokens = CoordinatorHarness.tokens(pages: 3)
        try harness.join(1, keys: harness.keys(tokens, namespace: "tenant-a"))
        try harness.join(2)
        // Tenant-a's open goes to its holder (and fills the coordinator's cache of prefix keys).
        let own = try harness.open(tokens, namespace: "tenant-a", cachedTokens: 12)
        #expect(own.worker == 1)
        // Tenant-b's open of the same tokens: no pull, placed as a miss (on the idle worker 2),
        // and the worker is told tenant-b's namespace, so it computes tenant-b's keys.
        let (_, directives) = harness.fromClient(
            .openSequence(OpenSequence(sequenceID: 0, namespace: "tenant-b", shardStart: 0, tokens: tokens))
        )
        let sends = CoordinatorHarness.workerSends(in: directives)
        #expect(sends.count == 1)
        let (worker, envelope) = try #require(sends.first)
        #expect(worker == WorkerID(2))
        guard case .openSequence(let body) = envelope.message else {
            Issue.record("tenant-b's open sent \(envelope.message.type), not OpenSequence")
            return
        }
        #expect(body.namespace == "tenant-b")
        #expect(body.tokens == tokens)
        let placed = harness.instance.place(tokens: tokens, namespace: "tenant-b", excluding: [])
        #expect(placed?.0.cachedPages == 0)
        #expect(placed?.0.pull == nil)
        let again = harness.instance.place(tokens: tokens, namespace: "tenant-a", excluding: [])
        #expect(again?.0.cachedPages == 3)
        #expect(again?.1 == harness.keys(tokens, namespace: "tenant-a"))
    }

    @Test(
        "a client naming pages is refused badRequest and nothing is sent to a worker",
        arguments: [
            Message.pageRemove(PageRemove(keys: [])),
            Message.pageGet(PageGet(keys: [])),
            Message.pageContains(PageContains(keys: [])),
            Message.pagePut(PagePut(pages: [])),
            Message.pullPages(PullPages(peerEndpoint: "tcp://10.0.0.1:7100", keys: [])),
            Message.prefetchPages(PrefetchPages(keys: [])),
        ]
    )
    func pageRequestsRefused(template: Message) throws {
        var harness = try CoordinatorHarness()
        let tokens = CoordinatorHarness.tokens(pages: 3)
        let keysA = harness.keys(tokens, namespace: "tenant-a")
        try harness.join(1, keys: keysA)
        let message: Message =
            switch template {
            case .pageRemove: .pageRemove(PageRemove(keys: keysA))
            case .pageGet: .pageGet(PageGet(keys: keysA))
            case .pageContains: .pageContains(PageContains(keys: keysA))
            case .pullPages(let body): .pullPages(PullPages(peerEndpoint: body.peerEndpoint, keys: keysA))
            case .prefetchPages: .prefetchPages(PrefetchPages(keys: keysA))
            default: template
            }
        let (request, directives) = harness.fromClient(message)
        let answer = CoordinatorHarness.answers(to: harness.client, in: directives).first
        #expect(answer?.requestID == request)
        #expect(CoordinatorHarness.errorCode(answer) == .badRequest)
        #expect(CoordinatorHarness.workerSends(in: directives).isEmpty)
        #expect(harness.instance.indexedPages == 3)
        #expect(harness.instance.place(tokens: tokens, namespace: "tenant-a", excluding: [])?.0.cachedPages == 3)
    }

    @Test("tenant-b's pages of the same tokens removed, and its sequence closed, leave tenant-a's pages indexed")
    func removalOfAnotherNamespace() throws {
        var harness = try CoordinatorHarness()
        let tokens = CoordinatorHarness.tokens(pages: 3)
        let keysA = harness.keys(tokens, namespace: "tenant-a")
        let keysB = harness.keys(tokens, namespace: "tenant-b")
        #expect(Set(keysA).isDisjoint(with: keysB))
        try harness.join(1, keys: keysA + keysB)
        #expect(harness.instance.indexedPages == 6)

        // A sequence of tenant-b on the holder, closed without commit.
        let opened = try harness.open(tokens, namespace: "tenant-b", cachedTokens: 12)
        let (request, closing) = harness.fromClient(
            .closeSequence(CloseSequence(sequenceID: opened.sequence, commit: false))
        )
        let close = try #require(CoordinatorHarness.sent(to: opened.worker, in: closing).first)
        #expect(close.message == .closeSequence(CloseSequence(sequenceID: opened.sequence, commit: false)))
        let closed = harness.fromWorker(opened.worker, close.requestID, .ack(Ack()))
        #expect(
            CoordinatorHarness.answers(to: harness.client, in: closed) == [
                Envelope(requestID: request, message: .ack(Ack()))
            ]
        )

        // The worker reports tenant-b's pages removed.
        _ = harness.event(1, .removed, keysB)
        #expect(harness.instance.indexedPages == 3)
        let b = harness.instance.place(tokens: tokens, namespace: "tenant-b", excluding: [])
        #expect(b?.0.cachedPages == 0)
        let a = harness.instance.place(tokens: tokens, namespace: "tenant-a", excluding: [])
        #expect(a?.0.cachedPages == 3)
        #expect(a?.0.worker == WorkerID(1))
    }
}

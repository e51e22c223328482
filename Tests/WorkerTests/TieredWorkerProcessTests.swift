import CacheProtocol
import Foundation
import Kernels
import Testing

@testable import Worker

/// Tests that start real `mfa-worker` processes with lower tiers (compressed RAM, a data directory,
/// a remote store) and push pages through them over ZeroMQ.
@Suite("mfa-worker process with lower tiers", .serialized, .timeLimit(.minutes(2)))
struct TieredWorkerProcessTests {
    /// 8 KiB f16 pages.
    static let model = "name=tiny,layers=2,q-heads=4,kv-heads=2,head-dim=32,kv=f16,page=16"

    /// `count` random encoded pages of the model, with keys.
    static func pages(_ count: Int, seed: UInt64) throws -> [EncodedPage] {
        let spec = try ModelSpec(parsing: model)
        let layout = try PageLayout(
            layers: spec.layers,
            pageSize: spec.pageSize,
            kvHeads: spec.kvHeads,
            headDim: spec.headDim,
            storage: spec.kvStorage
        )
        var random = SplitMix64(seed: seed)
        return try (0..<count).map { n in
            EncodedPage(
                key: tierKey(Int(seed) * 1000 + n),
                bytes: PageCodec().encode(
                    try RawPage(layout: layout, values: random.floats(layout.elementCount, in: -4..<4))
                )
            )
        }
    }

    /// Puts `pages` one request at a time (the hot pool of these workers holds only a few).
    static func put(_ pages: [EncodedPage], to client: ClusterClient) async throws {
        for page in pages { try await client.putPages([page]) }
    }

    /// Fetches `keys` one at a time and returns the decoded pages found.
    static func get(_ keys: [PrefixKey], from client: ClusterClient) async throws -> [PrefixKey: RawPage] {
        var found: [PrefixKey: RawPage] = [:]
        for key in keys {
            for page in try await client.getPages([key]) { found[page.key] = try PageCodec().decode(page.bytes) }
        }
        return found
    }

    /// Keys of the page files in `directory`.
    static func keysOnDisk(_ directory: String) throws -> Set<PrefixKey> {
        Set(
            try FileManager.default.contentsOfDirectory(atPath: directory).compactMap { name in
                name.hasSuffix(DiskTier.pageSuffix)
                    ? try? PrefixKey(hex: String(name.dropLast(DiskTier.pageSuffix.count))) : nil
            }
        )
    }

    /// Whether the worker's log gets a line holding every one of `parts` within 10 seconds (its
    /// stderr arrives through a pipe, a little after the request that caused it).
    static func logged(by worker: WorkerProcess, _ parts: [String]) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            let lines = worker.standardError.split(separator: "\n")
            if lines.contains(where: { line in parts.allSatisfy { line.contains($0) } }) { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    @Test("pages pushed through compressed RAM and disk come back bit-identical; a corrupted file is a logged miss")
    func throughTiers() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let worker = try WorkerProcess(
            model: Self.model,
            memory: "32KiB",
            arguments: ["--compressed-memory", "24KiB", "--data-dir", directory, "--disk", "1MiB"],
            logLevel: "warning"
        )
        let client = try ClusterClient(context: try ZMQContext(), endpoint: worker.endpoint, timeout: .seconds(30))
        let pages = try Self.pages(12, seed: 1)
        try await Self.put(pages, to: client)
        let stats = try await client.stats()
        #expect(stats["tier_compressed_pages"] == 2)
        #expect(stats["tier_disk_pages"] == 6)
        #expect(try Self.keysOnDisk(directory).count == 6)
        #expect(try await client.containsPages(pages.map(\.key)) == Array(repeating: true, count: 12))

        let found = try await Self.get(pages.map(\.key), from: client)
        for page in pages { #expect(found[page.key] == (try PageCodec().decode(page.bytes))) }
        let after = try await client.stats()
        #expect((after["tier_disk_hits"] ?? 0) + (after["tier_compressed_hits"] ?? 0) >= 8)
        #expect(after["tier_disk_misses"] == 0)

        // The first page fetched went back down first: it lives on disk (the pages fetched later are
        // hot or in compressed RAM, their disk files being durable copies).
        let victim = pages[0].key
        #expect(try Self.keysOnDisk(directory).contains(victim))
        let path = directory + "/" + victim.hex + DiskTier.pageSuffix
        var bytes = try #require(FileManager.default.contents(atPath: path))
        bytes[bytes.count - 100] ^= 0x10
        try bytes.write(to: URL(fileURLWithPath: path))
        #expect(try await client.getPages([victim]).isEmpty)
        #expect(try await client.containsPages([victim]) == [false])
        #expect(await Self.logged(by: worker, ["corrupt page", victim.hex]))
        await client.disconnect()
        #expect(worker.terminate() == 0)
    }

    /// Opens `prompt`, prefills every layer with random rows and closes it with commit.
    static func prefillAndCommit(_ prompt: [UInt32], client: ClusterClient, seed: UInt64) async throws {
        let spec = try ModelSpec(parsing: model)
        var random = SplitMix64(seed: seed)
        let rows = prompt.count
        let opened = try await client.open(namespace: "tiers", tokens: prompt)
        #expect(opened.cachedTokens == 0)
        for layer in 0..<spec.layers {
            _ = try await client.prefill(
                sequenceID: opened.sequenceID,
                layer: layer,
                startPosition: 0,
                q: try WireTensor(
                    f32: random.floats(rows * spec.queryHeads * spec.headDim, in: -4..<4),
                    shape: [rows, spec.queryHeads, spec.headDim]
                ),
                k: try WireTensor(
                    f32: random.floats(rows * spec.kvHeads * spec.headDim, in: -4..<4),
                    shape: [rows, spec.kvHeads, spec.headDim]
                ),
                v: try WireTensor(
                    f32: random.floats(rows * spec.kvHeads * spec.headDim, in: -4..<4),
                    shape: [rows, spec.kvHeads, spec.headDim]
                )
            )
        }
        try await client.close(sequenceID: opened.sequenceID, commit: true)
    }

    @Test("a prompt whose pages were evicted to compressed RAM and disk is a prefix hit with the same page bytes")
    func promptHitFromTiers() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let worker = try WorkerProcess(
            model: Self.model,
            memory: "32KiB",
            arguments: ["--compressed-memory", "16KiB", "--data-dir", directory, "--disk", "1MiB"]
        )
        let client = try ClusterClient(context: try ZMQContext(), endpoint: worker.endpoint, timeout: .seconds(30))
        let spec = try ModelSpec(parsing: Self.model)
        let prompt = Array(UInt32(0)..<64)
        try await Self.prefillAndCommit(prompt, client: client, seed: 11)
        let keys = PrefixKey.chain(
            namespace: "tiers",
            fingerprint: spec.fingerprint,
            tokens: prompt,
            pageSize: spec.pageSize
        )
        let before = try await client.getPages(keys)
        #expect(before.map(\.key) == keys)
        try await Self.prefillAndCommit(Array(UInt32(1000)..<1064), client: client, seed: 12)
        let evicted = try await client.stats()
        #expect(evicted["tier_compressed_pages"] == 1)
        #expect(evicted["tier_disk_pages"] == 3)

        let again = try await client.open(namespace: "tiers", tokens: prompt + [7])
        #expect(again.cachedTokens == 64)
        let after = try await client.getPages(keys)
        #expect(try after.map { try PageCodec().decode($0.bytes) } == before.map { try PageCodec().decode($0.bytes) })
        let stats = try await client.stats()
        #expect(stats["tier_disk_hits"] == 3)
        #expect(stats["tier_compressed_hits"] == 1)
        await client.disconnect()
        #expect(worker.terminate() == 0)
    }

    @Test("after kill -9, a worker restarted on the same data directory serves every page it had put on disk")
    func survivesKill() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pages = try Self.pages(10, seed: 2)
        let onDisk: Set<PrefixKey>
        do {
            let worker = try WorkerProcess(
                model: Self.model,
                memory: "16KiB",
                arguments: ["--data-dir", directory, "--disk", "1MiB"]
            )
            let client = try ClusterClient(context: try ZMQContext(), endpoint: worker.endpoint, timeout: .seconds(30))
            try await Self.put(pages, to: client)
            let stats = try await client.stats()
            onDisk = try Self.keysOnDisk(directory)
            #expect(stats["tier_disk_pages"] == UInt64(onDisk.count))
            #expect(onDisk.count == 8)
            worker.killAbruptly()
            await client.disconnect()
        }
        let restarted = try WorkerProcess(
            model: Self.model,
            memory: "16KiB",
            arguments: ["--data-dir", directory, "--disk", "1MiB"],
            logLevel: "warning"
        )
        let client = try ClusterClient(context: try ZMQContext(), endpoint: restarted.endpoint, timeout: .seconds(30))
        #expect((try await client.stats())["tier_disk_pages"] == UInt64(onDisk.count))
        guard case let .tierSnapshotReply(snapshot) = try await client.request(.snapshotRequest(SnapshotRequest()))
        else {
            Issue.record("no snapshot reply")
            return
        }
        #expect(Set(snapshot.keys) == onDisk)
        // The keys the disk kept are held below, in the disk tier (the first lower tier here).
        #expect(snapshot.tiers == [CacheTier](repeating: .disk, count: snapshot.keys.count))
        let found = try await Self.get(Array(onDisk), from: client)
        #expect(Set(found.keys) == onDisk)
        for page in pages where onDisk.contains(page.key) {
            #expect(found[page.key] == (try PageCodec().decode(page.bytes)))
        }
        #expect(!restarted.standardError.contains("corrupt"))
        await client.disconnect()
        #expect(restarted.terminate() == 0)
    }

    @Test("on SIGTERM the pages in compressed RAM and the hot ones move to disk, and a restart serves them")
    func flushOnExit() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let arguments = ["--compressed-memory", "1MiB", "--data-dir", directory, "--disk", "1MiB"]
        let pages = try Self.pages(6, seed: 4)
        do {
            let worker = try WorkerProcess(model: Self.model, memory: "16KiB", arguments: arguments)
            let client = try ClusterClient(context: try ZMQContext(), endpoint: worker.endpoint, timeout: .seconds(30))
            try await Self.put(pages, to: client)
            #expect((try await client.stats())["tier_compressed_pages"] == 4)
            #expect(try Self.keysOnDisk(directory).isEmpty)
            await client.disconnect()
            #expect(worker.terminate() == 0)
        }
        #expect(try Self.keysOnDisk(directory) == Set(pages.map(\.key)))
        let restarted = try WorkerProcess(model: Self.model, memory: "16KiB", arguments: arguments)
        let client = try ClusterClient(context: try ZMQContext(), endpoint: restarted.endpoint, timeout: .seconds(30))
        let found = try await Self.get(pages.map(\.key), from: client)
        for page in pages { #expect(found[page.key] == (try PageCodec().decode(page.bytes))) }
        await client.disconnect()
        #expect(restarted.terminate() == 0)
    }

    @Test("a compute worker's evicted pages go to its remote store and are served back from it")
    func remoteStore() async throws {
        let store = try WorkerProcess(model: Self.model, memory: "1MiB", arguments: ["--role", "store"])
        let worker = try WorkerProcess(model: Self.model, memory: "16KiB", arguments: ["--remote", store.endpoint])
        let context = try ZMQContext()
        let client = try ClusterClient(context: context, endpoint: worker.endpoint, timeout: .seconds(30))
        let storeClient = try ClusterClient(context: context, endpoint: store.endpoint, timeout: .seconds(30))
        let pages = try Self.pages(6, seed: 3)
        try await Self.put(pages, to: client)
        let evicted = pages.prefix(4).map(\.key)
        #expect(try await storeClient.containsPages(evicted) == [true, true, true, true])
        #expect((try await client.stats())["tier_remote_pages"] == 4)
        let found = try await Self.get(pages.map(\.key), from: client)
        for page in pages { #expect(found[page.key] == (try PageCodec().decode(page.bytes))) }
        #expect((try await client.stats())["tier_remote_hits"] ?? 0 >= 4)
        await client.disconnect()
        await storeClient.disconnect()
        #expect(worker.terminate() == 0)
        #expect(store.terminate() == 0)
    }
}

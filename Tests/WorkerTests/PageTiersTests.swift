import CacheProtocol
import Foundation
import Kernels
import Testing

@testable import Worker

@Suite("Page tier chain", .timeLimit(.minutes(1)))
struct PageTiersTests {
    @Test(
        "pages demoted through compressed RAM and disk come back bit-identical",
        arguments: [KVStorageType.f16, .bf16, .int8]
    )
    func chainRoundTrip(storage: KVStorageType) async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pages = try (0..<6).map { try randomPage(storage, seed: UInt64(100 + $0)) }
        let encodedSize = PageCodec().encode(pages[0]).count
        let log = CapturedLog()
        let tiers = PageTiers(
            compressed: try CompressedMemoryTier(capacity: 2 * encodedSize + encodedSize / 2),
            disk: try DiskTier(directory: directory, capacity: 3 * encodedSize + encodedSize / 2, logger: log.logger),
            remote: nil,
            logger: log.logger
        )
        var lost: [PrefixKey] = []
        for (n, page) in pages.enumerated() { lost += await tiers.demote(key: tierKey(n), page: page) }
        #expect(lost == [tierKey(0)])
        #expect(Set(await tiers.keys()) == Set((1..<6).map(tierKey)))
        let counters = Dictionary(uniqueKeysWithValues: await tiers.statistics().map { ($0.name, $0.value) })
        #expect(counters["tier_compressed_pages"] == 2)
        #expect(counters["tier_compressed_moved_down"] == 4)
        #expect(counters["tier_disk_pages"] == 3)
        #expect(counters["tier_disk_moved_in"] == 4)
        #expect(counters["tier_disk_moved_down"] == 1)
        #expect(await tiers.promote(key: tierKey(0)) == nil)
        for n in 1..<6 {
            #expect(await tiers.contains(key: tierKey(n)))
            #expect(await tiers.promote(key: tierKey(n)) == pages[n])
            #expect(await !tiers.contains(key: tierKey(n)))
        }
        let after = Dictionary(uniqueKeysWithValues: await tiers.statistics().map { ($0.name, $0.value) })
        #expect(after["tier_compressed_hits"] == 2)
        #expect(after["tier_disk_hits"] == 3)
        #expect(after["tier_disk_misses"] == 1)
        // The pages promoted from disk keep their files there as durable copies.
        #expect(after["tier_disk_pages"] == 3)
        #expect(await tiers.keys().isEmpty)
    }

    @Test("a page promoted from disk keeps its file until its key is removed; coming back down reuses it unwritten")
    func durableCopyOfPromotedPage() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = CapturedLog()
        let tiers = PageTiers(
            compressed: nil,
            disk: try DiskTier(directory: directory, capacity: 1 << 20, logger: log.logger),
            remote: nil,
            logger: log.logger
        )
        let pages = try (0..<2).map { try randomPage(.bf16, seed: UInt64(300 + $0)) }
        for n in 0..<2 { #expect(await tiers.demote(key: tierKey(n), page: pages[n]).isEmpty) }
        let path = directory + "/" + tierKey(0).hex + DiskTier.pageSuffix
        #expect(await tiers.promote(key: tierKey(0)) == pages[0])
        #expect(FileManager.default.fileExists(atPath: path))
        #expect(await !tiers.contains(key: tierKey(0)))
        #expect(await tiers.keys() == [tierKey(1)])
        var counters = Dictionary(uniqueKeysWithValues: await tiers.statistics().map { ($0.name, $0.value) })
        #expect(counters["tier_disk_pages"] == 2)
        #expect(counters["tier_disk_moved_in"] == 2)
        // Demoted again, the copy is the page: nothing is written, the key lives on disk again.
        #expect(await tiers.demote(key: tierKey(0), page: pages[0]).isEmpty)
        counters = Dictionary(uniqueKeysWithValues: await tiers.statistics().map { ($0.name, $0.value) })
        #expect(counters["tier_disk_moved_in"] == 2)
        #expect(counters["tier_disk_pages"] == 2)
        #expect(await tiers.contains(key: tierKey(0)))
        #expect(Set(await tiers.keys()) == [tierKey(0), tierKey(1)])
        // Promoted once more and then removed by request: the copy goes with the key.
        #expect(await tiers.promote(key: tierKey(0)) == pages[0])
        await tiers.remove(key: tierKey(0))
        #expect(!FileManager.default.fileExists(atPath: path))
        counters = Dictionary(uniqueKeysWithValues: await tiers.statistics().map { ($0.name, $0.value) })
        #expect(counters["tier_disk_pages"] == 1)
        #expect(counters["tier_disk_bytes"] == UInt64(PageCodec().encode(pages[1]).count))
    }

    @Test(
        "a hot page gets a durable copy once; copies are not evicted for room, and a corrupt compressed page falls back to its copy"
    )
    func keepDurableCopies() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = CapturedLog()
        let pages = try (0..<4).map { try randomPage(.f16, seed: UInt64(400 + $0)) }
        let size = PageCodec().encode(pages[0]).count
        let tiers = PageTiers(
            compressed: try CompressedMemoryTier(capacity: 1 << 20),
            disk: try DiskTier(directory: directory, capacity: 2 * size + size / 2, logger: log.logger),
            remote: nil,
            logger: log.logger
        )
        #expect(await tiers.keepDurableCopy(key: tierKey(0), page: pages[0]).isEmpty)
        #expect(await tiers.keepDurableCopy(key: tierKey(0), page: pages[0]).isEmpty)
        #expect(await tiers.keepDurableCopy(key: tierKey(1), page: pages[1]).isEmpty)
        var counters = Dictionary(uniqueKeysWithValues: await tiers.statistics().map { ($0.name, $0.value) })
        #expect(counters["tier_disk_pages"] == 2)
        #expect(counters["tier_disk_moved_in"] == 2)
        #expect(await tiers.keys().isEmpty)
        // The disk is full of copies: a third copy has no room, and nothing is lost for it.
        #expect(await tiers.keepDurableCopy(key: tierKey(2), page: pages[2]).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: directory + "/" + tierKey(2).hex + DiskTier.pageSuffix))
        // Page 0 comes down to compressed RAM, keeping its copy; flushed, the copy is the page.
        #expect(await tiers.demote(key: tierKey(0), page: pages[0]).isEmpty)
        #expect(await tiers.promote(key: tierKey(0)) == pages[0])
        #expect(await tiers.demote(key: tierKey(0), page: pages[0]).isEmpty)
        await tiers.flush()
        counters = Dictionary(uniqueKeysWithValues: await tiers.statistics().map { ($0.name, $0.value) })
        #expect(counters["tier_compressed_pages"] == 0)
        #expect(counters["tier_disk_moved_in"] == 2)
        #expect(await tiers.keys() == [tierKey(0)])
        // A new page on a full disk evicts the page that lives there, never page 1's copy.
        #expect(await tiers.demote(key: tierKey(3), page: pages[3]).isEmpty)
        await tiers.flush()
        #expect(Set(await tiers.keys()) == [tierKey(3)])
        #expect(FileManager.default.fileExists(atPath: directory + "/" + tierKey(1).hex + DiskTier.pageSuffix))
    }

    @Test("a page corrupted on disk is a miss and a log line, never data")
    func corruptOnDisk() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = CapturedLog()
        let tiers = PageTiers(
            compressed: nil,
            disk: try DiskTier(directory: directory, capacity: 1 << 20, logger: log.logger),
            remote: nil,
            logger: log.logger
        )
        let page = try randomPage(.bf16, seed: 7)
        #expect(await tiers.demote(key: tierKey(1), page: page).isEmpty)
        let path = directory + "/" + tierKey(1).hex + DiskTier.pageSuffix
        var bytes = try #require(FileManager.default.contents(atPath: path))
        bytes[bytes.count - 1] ^= 1
        try bytes.write(to: URL(fileURLWithPath: path))
        #expect(await tiers.promote(key: tierKey(1)) == nil)
        #expect(log.all.contains { $0.contains("corrupt page") && $0.contains(tierKey(1).hex) })
        #expect(await !tiers.contains(key: tierKey(1)))
    }

    @Test("prefetch promotes what the tiers hold, in key order; flush moves compressed pages to disk")
    func prefetchAndFlush() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = CapturedLog()
        let tiers = PageTiers(
            compressed: try CompressedMemoryTier(capacity: 1 << 20),
            disk: try DiskTier(directory: directory, capacity: 1 << 20, logger: log.logger),
            remote: nil,
            logger: log.logger
        )
        let pages = try (0..<3).map { try randomPage(.int8, seed: UInt64(200 + $0)) }
        for n in [2, 0, 1] { _ = await tiers.demote(key: tierKey(n), page: pages[n]) }
        let found = await tiers.prefetch(keys: [tierKey(0), tierKey(5), tierKey(2)])
        #expect(found.map(\.key) == [tierKey(0), tierKey(2)])
        #expect(found.map(\.page) == [pages[0], pages[2]])
        await tiers.flush()
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(DiskTier.pageSuffix) }
                == [tierKey(1).hex + DiskTier.pageSuffix]
        )
        #expect(await tiers.promote(key: tierKey(1)) == pages[1])
    }

    @Test("keys a rebuilt disk tier holds at start are held without events, and their loss is announced")
    func adoptedKeys() async throws {
        let geometry = try PageGeometry(layers: 2, kvHeads: 2, headDim: 32, pageSize: 16, storage: .f16)
        var manager = try SequenceManager(geometry: geometry, pageCount: 2, evictionPolicy: .demote)
        _ = try manager.admit(key: tierKey(0), pageBytes: try randomPage(.f16, seed: 1).bytes)
        _ = manager.takeEvents()
        manager.lowerTiersHold(keys: [tierKey(0), tierKey(1), tierKey(2)])
        #expect(manager.takeEvents().isEmpty)
        #expect(manager.cache.snapshot().keys == Set([tierKey(0), tierKey(1), tierKey(2)]))
        manager.lowerTiersLost(keys: [tierKey(0), tierKey(2)])
        let events = manager.takeEvents()
        #expect(events.map(\.kind) == [.removed])
        #expect(events.map(\.key) == [tierKey(2)])
        #expect(manager.cache.snapshot().keys == Set([tierKey(0), tierKey(1)]))
    }

    @Test("the hot pool's demotions keep keys held until the tiers lose them")
    func eventsWithTiers() async throws {
        let geometry = try PageGeometry(layers: 2, kvHeads: 2, headDim: 32, pageSize: 16, storage: .f16)
        let layout = try PageLayout(layers: 2, pageSize: 16, kvHeads: 2, headDim: 32, storage: .f16)
        var manager = try SequenceManager(geometry: geometry, pageCount: 1, evictionPolicy: .demote)
        let bytes = try randomPage(.f16, seed: 9).bytes
        let tiers = PageTiers(
            compressed: try CompressedMemoryTier(capacity: bytes.count + 100),
            disk: nil,
            remote: nil,
            logger: CapturedLog().logger
        )
        for n in 0..<3 {
            for directive in try manager.admit(key: tierKey(n), pageBytes: bytes) {
                guard case let .demote(key, page) = directive else { continue }
                manager.lowerTiersLost(
                    keys: await tiers.demote(key: key, page: try RawPage(layout: layout, bytes: page))
                )
            }
        }
        #expect(manager.takeEvents().map(\.kind) == [.stored, .demoted, .stored, .demoted, .stored, .removed])
        #expect(manager.cache.snapshot().keys == Set([tierKey(1), tierKey(2)]))
        let page = try #require(await tiers.promote(key: tierKey(1)))
        for directive in try manager.admit(key: tierKey(1), pageBytes: page.bytes) {
            guard case let .demote(key, page) = directive else { continue }
            manager.lowerTiersLost(keys: await tiers.demote(key: key, page: try RawPage(layout: layout, bytes: page)))
        }
        // tierKey(2) goes down, tierKey(1) comes back: tier moves, no key enters or leaves.
        #expect(manager.takeEvents().map(\.kind) == [.demoted, .promoted])
        #expect(manager.cache.hotKeys == [tierKey(1)])
        #expect(await tiers.keys() == [tierKey(2)])
        #expect(manager.cache.snapshot().keys == Set([tierKey(1), tierKey(2)]))
    }
}

import CacheProtocol
import Foundation
import Kernels
import Testing

@testable import Worker

@Suite("Disk tier")
struct DiskTierTests {
    @Test("a page read back is the page written, bit for bit", arguments: [KVStorageType.f16, .bf16, .int8])
    func roundTrip(storage: KVStorageType) throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let codec = PageCodec()
        let page = try randomPage(storage, seed: 2)
        var tier = try DiskTier(directory: directory, capacity: 1 << 20, logger: CapturedLog().logger)
        #expect(
            tier.insert(EncodedPage(key: tierKey(1), bytes: codec.encode(page)), passesEvictedPagesOn: true).pages
                .isEmpty
        )
        #expect(FileManager.default.fileExists(atPath: tier.path(of: tierKey(1))))
        let takenback = tier.take(tierKey(1))
        let back = try #require(takenback)
        #expect(try codec.decode(back) == page)
        #expect(!FileManager.default.fileExists(atPath: tier.path(of: tierKey(1))))
        #expect(tier.take(tierKey(1)) == nil)
    }

    @Test("a new tier over the same directory rebuilds the index in write order and cleans temporary files")
    func restart() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let codec = PageCodec()
        let pages = try (0..<4).map { try randomPage(.bf16, seed: UInt64(10 + $0)) }
        let written: TierStatistics
        do {
            var tier = try DiskTier(directory: directory, capacity: 1 << 20, logger: CapturedLog().logger)
            for (n, page) in pages.enumerated() {
                _ = tier.insert(EncodedPage(key: tierKey(n), bytes: codec.encode(page)), passesEvictedPagesOn: false)
            }
            written = tier.statistics
        }
        let partial = Self.path(directory, tierKey(7)) + ".tmp"
        #expect(FileManager.default.createFile(atPath: partial, contents: Data([1, 2, 3])))
        let log = CapturedLog()
        var reopened = try DiskTier(directory: directory, capacity: 1 << 20, logger: log.logger)
        #expect(reopened.keys == (0..<4).map(tierKey))
        #expect(reopened.statistics == written.withMovesCleared)
        #expect(!FileManager.default.fileExists(atPath: partial))
        #expect(log.all.contains { $0.contains("unfinished") })
        for (n, page) in pages.enumerated() {
            let taken = reopened.take(tierKey(n))
            #expect(try codec.decode(try #require(taken)) == page)
        }
    }

    @Test("a flipped byte or a truncated file is dropped on restart and a miss when read, with a log line")
    func corruption() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let codec = PageCodec()
        let page = EncodedPage(key: tierKey(0), bytes: codec.encode(try randomPage(.f16, seed: 3)))
        let log = CapturedLog()
        var flipped = page.bytes
        flipped[flipped.count / 2] ^= 0x40
        do {
            var tier = try DiskTier(directory: directory, capacity: 1 << 20, logger: log.logger)
            for n in 0..<3 {
                _ = tier.insert(EncodedPage(key: tierKey(n), bytes: page.bytes), passesEvictedPagesOn: false)
            }
            try Data(flipped).write(to: URL(fileURLWithPath: Self.path(directory, tierKey(0))))
            try Data(page.bytes.prefix(page.bytes.count - 7)).write(
                to: URL(fileURLWithPath: Self.path(directory, tierKey(1)))
            )
            let flippedBytes = tier.take(tierKey(0))
            #expect(throws: PageCodecError.self) { try codec.decode(try #require(flippedBytes)) }
            let truncatedBytes = tier.take(tierKey(1))
            #expect(throws: PageCodecError.self) { try codec.decode(try #require(truncatedBytes)) }
        }
        do {
            var tier = try DiskTier(directory: directory, capacity: 1 << 20, logger: log.logger)
            #expect(tier.keys == [tierKey(2)])
            _ = tier.take(tierKey(2))
            for n in 0..<2 {
                _ = tier.insert(EncodedPage(key: tierKey(n), bytes: page.bytes), passesEvictedPagesOn: false)
            }
        }
        try Data(flipped).write(to: URL(fileURLWithPath: Self.path(directory, tierKey(0))))
        try Data(page.bytes.prefix(30)).write(to: URL(fileURLWithPath: Self.path(directory, tierKey(1))))
        let rebuilt = try DiskTier(directory: directory, capacity: 1 << 20, logger: log.logger)
        #expect(rebuilt.keys.isEmpty)
        #expect(log.all.filter { $0.contains("corrupt page file") }.count == 2)
        #expect(!FileManager.default.fileExists(atPath: Self.path(directory, tierKey(0))))
        #expect(!FileManager.default.fileExists(atPath: Self.path(directory, tierKey(1))))
    }

    @Test("a data directory in use by a tier is refused to a second one until the first is gone")
    func locked() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let first = try DiskTier(directory: directory, capacity: 1 << 20, logger: CapturedLog().logger)
            #expect(throws: TierError.self) {
                try DiskTier(directory: directory, capacity: 1 << 20, logger: CapturedLog().logger)
            }
            #expect(first.keys.isEmpty)
        }
        let second = try DiskTier(directory: directory, capacity: 1 << 20, logger: CapturedLog().logger)
        #expect(second.keys.isEmpty)
    }

    /// The page file of `key` in `directory`.
    static func path(_ directory: String, _ key: PrefixKey) -> String {
        directory + "/" + key.hex + DiskTier.pageSuffix
    }

    @Test("when full, least recently written pages leave: read back for the next tier, or removed")
    func lruOverflow() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let page = { (n: Int) in EncodedPage(key: tierKey(n), bytes: [UInt8](repeating: UInt8(n), count: 100)) }
        var tier = try DiskTier(directory: directory, capacity: 250, logger: CapturedLog().logger)
        #expect(tier.insert(page(0), passesEvictedPagesOn: true).pages.isEmpty)
        #expect(tier.insert(page(1), passesEvictedPagesOn: true).pages.isEmpty)
        #expect(tier.insert(page(2), passesEvictedPagesOn: true).pages == [page(0)])
        let dropped = tier.insert(page(3), passesEvictedPagesOn: false)
        #expect(dropped.pages.isEmpty)
        #expect(dropped.lost == [tierKey(1)])
        #expect(tier.keys == [tierKey(2), tierKey(3)])
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(DiskTier.pageSuffix) }
                .count == 2
        )
        #expect(tier.statistics.movedDown == 2)
    }
}

extension TierStatistics {
    /// These counters with the move counters zeroed (what a rebuilt index reports).
    var withMovesCleared: TierStatistics {
        var copy = self
        copy.movedIn = 0
        copy.movedDown = 0
        return copy
    }
}

import CacheProtocol
import Glibc
import Logging

/// Pages in files under a data directory, within a byte budget, surviving restarts and `kill -9`.
/// The directory is locked (`DirectoryLock`) for as long as the tier lives.
///
/// Each page is one file `<hex key>.page` holding the page in the KV page encoding (whose header
/// carries the checksum). A page is written to `<hex key>.page.tmp`, fsynced, renamed to its final
/// name and the directory fsynced, so a page the tier has taken is never lost or torn by a crash.
/// On start the tier removes temporary files left by a crash and rebuilds its index from the page
/// files: each is decoded and checked, and a corrupt, truncated or misnamed file is removed with a
/// log line. A file corrupted later is found when it is read: a miss and a log line, never data.
/// Pages leave in least-recently-used order (by write time, kept strictly increasing in the files'
/// modification times so that a restart restores the order; a read takes the page out).
struct DiskTier: Sendable {
    /// The page file suffix.
    static let pageSuffix = ".page"
    /// The suffix of a page file being written.
    static let temporarySuffix = ".page.tmp"

    /// The data directory.
    let directory: String
    /// Most bytes of page files held.
    let capacity: Int
    /// Counters of this tier; the chain, which decodes what `take` returns, counts hits and misses.
    var statistics = TierStatistics()
    private var sizes: [PrefixKey: Int] = [:]
    private var order = KeyLRU<PrefixKey>()
    /// The modification time of the newest page file, in nanoseconds since the epoch.
    private var lastWritten = 0
    private let logger: Logger
    private let lock: DirectoryLock

    /// Opens (creating it if needed) the tier in `directory` and rebuilds the index from its files.
    /// Pages beyond `capacity` (oldest first) are removed.
    init(directory: String, capacity: Int, logger: Logger) throws(TierError) {
        guard capacity > 0 else { throw .invalidCapacity(tier: "disk", bytes: capacity) }
        self.directory = directory
        self.capacity = capacity
        self.logger = logger
        let entries: [(name: String, modified: Int)]
        do {
            try DurableFile.makeDirectory(directory)
            lock = try DirectoryLock(directory: directory)
            entries = try DurableFile.list(directory)
        } catch {
            throw .dataDirectory(path: directory, reason: error.description)
        }
        let codec = PageCodec()
        var found: [(key: PrefixKey, size: Int, modified: Int)] = []
        for entry in entries {
            let path = directory + "/" + entry.name
            if entry.name.hasSuffix(Self.temporarySuffix) {
                logger.notice("disk tier: removing unfinished page file", metadata: ["path": "\(path)"])
                removeFile(path)
                continue
            }
            guard entry.name.hasSuffix(Self.pageSuffix) else { continue }
            let name = String(entry.name.dropLast(Self.pageSuffix.count))
            guard let key = try? PrefixKey(hex: name), key.hex == name else {
                logger.warning("disk tier: removing a page file whose name is not a key", metadata: ["path": "\(path)"])
                removeFile(path)
                continue
            }
            do {
                let bytes = try DurableFile.read(path, limit: Self.maximumFileBytes)
                _ = try codec.decode(bytes)
                found.append((key, bytes.count, entry.modified))
            } catch {
                logger.warning("disk tier: removing corrupt page file", metadata: ["path": "\(path)", "reason": "\(error)"])
                removeFile(path)
            }
        }
        for page in found.sorted(by: { $0.modified < $1.modified }) {
            lastWritten = max(lastWritten, page.modified)
            sizes[page.key] = page.size
            order.touch(page.key)
            statistics.pages += 1
            statistics.bytes += page.size
        }
        while statistics.bytes > capacity, let victim = order.leastRecent {
            _ = remove(victim)
        }
        if !found.isEmpty {
            logger.info("disk tier: index rebuilt", metadata: ["pages": "\(statistics.pages)", "bytes": "\(statistics.bytes)"])
        }
    }

    /// The largest file the tier reads: a page header and the largest raw page.
    static let maximumFileBytes = 40 + PageLayout.maxRawByteCount

    /// Whether the tier holds `key`.
    func contains(_ key: PrefixKey) -> Bool { sizes[key] != nil }

    /// Keys held, least recently used first.
    var keys: [PrefixKey] { order.keysInOrder }

    /// Writes `page` durably (replacing an older copy under its key) and returns what had to leave to
    /// make room, least recently used first. Evicted pages are read back for the next tier when
    /// `passesEvictedPagesOn`, else just removed (their keys listed as lost). A page that cannot be
    /// written (larger than the budget, or an I/O error, logged) is returned in the overflow itself.
    mutating func insert(_ page: EncodedPage, passesEvictedPagesOn: Bool) -> TierOverflow {
        _ = remove(page.key)
        var overflow = TierOverflow()
        guard page.bytes.count <= capacity else {
            statistics.movedDown += 1
            overflow.pages.append(page)
            return overflow
        }
        while statistics.bytes + page.bytes.count > capacity, let victim = order.leastRecent {
            statistics.movedDown += 1
            if passesEvictedPagesOn, let bytes = take(victim) {
                overflow.pages.append(EncodedPage(key: victim, bytes: bytes))
            } else {
                _ = remove(victim)
                overflow.lost.append(victim)
            }
        }
        let path = path(of: page.key)
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let modified = max(lastWritten + 1, Int(now.tv_sec) * 1_000_000_000 + Int(now.tv_nsec))
        do {
            try DurableFile.write(page.bytes, to: path, through: path + ".tmp", directory: directory, modified: modified)
        } catch {
            logger.error("disk tier: cannot write page", metadata: ["key": "\(page.key)", "reason": "\(error)"])
            overflow.pages.append(page)
            return overflow
        }
        lastWritten = modified
        sizes[page.key] = page.bytes.count
        order.touch(page.key)
        statistics.recordIn(bytes: page.bytes.count)
        return overflow
    }

    /// Removes `key` and returns the bytes of its file (unchecked: the caller decodes them); nil
    /// when the key is not held or its file cannot be read (logged; the key is gone either way).
    mutating func take(_ key: PrefixKey) -> [UInt8]? {
        guard sizes[key] != nil else { return nil }
        let path = path(of: key)
        let bytes: [UInt8]?
        do {
            bytes = try DurableFile.read(path, limit: Self.maximumFileBytes)
        } catch {
            logger.warning("disk tier: cannot read page file", metadata: ["path": "\(path)", "reason": "\(error)"])
            bytes = nil
        }
        _ = remove(key)
        return bytes
    }

    /// Removes `key` and its file; returns whether it was held.
    mutating func remove(_ key: PrefixKey) -> Bool {
        guard let size = sizes.removeValue(forKey: key) else { return false }
        order.remove(key)
        statistics.recordOut(bytes: size)
        removeFile(path(of: key))
        return true
    }

    /// The file of `key`.
    func path(of key: PrefixKey) -> String {
        directory + "/" + key.hex + Self.pageSuffix
    }

    private func removeFile(_ path: String) {
        do {
            try DurableFile.remove(path)
        } catch {
            logger.error("disk tier: cannot remove file", metadata: ["path": "\(path)", "reason": "\(error)"])
        }
    }
}

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
///
/// A file is either a page that lives here, or the **durable copy** of a page that lives in a tier
/// above (hot, or compressed RAM): a page read back for promotion keeps its file as such a copy,
/// so does a page whose key is admitted hot from elsewhere (`keepAsCopy`), and a hot page can be
/// given one (`keepCopy`). A copy is kept until its key is removed; when its
/// page comes back down, the copy becomes the page again without a write (`adoptCopy`). Copies
/// count in the byte budget but are never evicted to make room. Pages that live here leave in
/// least-recently-taken order (by the time the tier took them, kept strictly increasing in the
/// files' modification times so that a restart restores the order). After a restart every file is
/// a page that lives here.
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
    /// The size of every file, pages and durable copies.
    private var sizes: [PrefixKey: Int] = [:]
    /// The pages that live here, in eviction order.
    private var order = KeyLRU<PrefixKey>()
    /// Keys whose file is the durable copy of a page living above.
    private var copies: Set<PrefixKey> = []
    /// Bytes of the durable copies' files (room that eviction cannot free).
    private var copyBytes = 0
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
                logger.warning(
                    "disk tier: removing corrupt page file",
                    metadata: ["path": "\(path)", "reason": "\(error)"]
                )
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
            logger.info(
                "disk tier: index rebuilt",
                metadata: ["pages": "\(statistics.pages)", "bytes": "\(statistics.bytes)"]
            )
        }
    }

    /// The largest file the tier reads: a page header and the largest raw page.
    static let maximumFileBytes = 40 + PageLayout.maxRawByteCount

    /// Whether the page of `key` lives in this tier (a durable copy does not count).
    func contains(_ key: PrefixKey) -> Bool { sizes[key] != nil && !copies.contains(key) }

    /// Whether the tier keeps a durable copy of the page of `key`, which lives above.
    func hasCopy(of key: PrefixKey) -> Bool { copies.contains(key) }

    /// Whether `key` has a file here, its page or a durable copy.
    func hasFile(for key: PrefixKey) -> Bool { sizes[key] != nil }

    /// Keys of the pages that live here, least recently taken first (durable copies left out).
    var keys: [PrefixKey] { order.keysInOrder }

    /// Writes `page` durably as a page that lives here (replacing an older file under its key, which
    /// stays until the new one has replaced it) and returns what had to leave to make room, least
    /// recently taken first. Evicted pages are read back for the next tier when
    /// `passesEvictedPagesOn`, else just removed (their keys listed as lost); durable copies are not
    /// evicted. A page that cannot be written (larger than the room copies leave, or an I/O error,
    /// logged) is returned in the overflow itself.
    mutating func insert(_ page: EncodedPage, passesEvictedPagesOn: Bool) -> TierOverflow {
        var outcome = write(page, asCopy: false, passesEvictedPagesOn: passesEvictedPagesOn)
        if outcome.failed { outcome.made.pages.append(page) }
        return outcome.made
    }

    /// Writes `page` durably as the durable copy of a page that lives above, unless `key` already has
    /// a file here, making room as `insert` does. Returns what had to leave; the copy itself is never
    /// in it (when it cannot be written, logged, the page simply has no copy).
    mutating func keepCopy(_ page: EncodedPage, passesEvictedPagesOn: Bool) -> TierOverflow {
        guard sizes[page.key] == nil else { return TierOverflow() }
        return write(page, asCopy: true, passesEvictedPagesOn: passesEvictedPagesOn).made
    }

    /// The page whose durable copy this tier keeps comes down to this tier: the copy becomes the
    /// page (nothing is written) and the most recently taken. Returns false, changing nothing, when
    /// there is no copy of `key`.
    mutating func adoptCopy(_ key: PrefixKey) -> Bool {
        guard copies.remove(key) != nil else { return false }
        copyBytes -= sizes[key] ?? 0
        let modified = nextModificationTime()
        do {
            try DurableFile.setModified(path(of: key), to: modified)
        } catch {
            logger.warning(
                "disk tier: cannot update a page file's time",
                metadata: ["key": "\(key)", "reason": "\(error)"]
            )
        }
        lastWritten = modified
        order.touch(key)
        return true
    }

    /// The page of `key`, which lives here, now lives above (admitted hot from elsewhere with the same
    /// content): its file stays as the page's durable copy, unread and unwritten. Returns false,
    /// changing nothing, when the key has no file or its file is a copy already.
    mutating func keepAsCopy(_ key: PrefixKey) -> Bool {
        guard let size = sizes[key], !copies.contains(key) else { return false }
        order.remove(key)
        copies.insert(key)
        copyBytes += size
        return true
    }

    /// The bytes of the file of `key` (unchecked: the caller decodes them), for a promotion: the file
    /// stays, as the durable copy of the page that now lives above. Nil when the key has no file or
    /// the file cannot be read (logged; the key is gone).
    mutating func read(_ key: PrefixKey) -> [UInt8]? {
        guard sizes[key] != nil else { return nil }
        let path = path(of: key)
        do {
            let bytes = try DurableFile.read(path, limit: Self.maximumFileBytes)
            order.remove(key)
            if copies.insert(key).inserted { copyBytes += sizes[key] ?? 0 }
            return bytes
        } catch {
            logger.warning("disk tier: cannot read page file", metadata: ["path": "\(path)", "reason": "\(error)"])
            _ = remove(key)
            return nil
        }
    }

    /// Removes `key` and returns the bytes of its file (unchecked: the caller decodes them); nil
    /// when the key has no file or its file cannot be read (logged; the key is gone either way).
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

    /// Removes `key` and its file, page or durable copy; returns whether it had one.
    mutating func remove(_ key: PrefixKey) -> Bool {
        guard forget(key) else { return false }
        removeFile(path(of: key))
        return true
    }

    /// What one write made leave, and whether the written page itself could not be written.
    private struct WriteOutcome {
        var made = TierOverflow()
        var failed = false
    }

    /// Writes `page` under its key (a page that lives here, or a durable copy), evicting least
    /// recently taken pages (never copies) until it fits.
    private mutating func write(_ page: EncodedPage, asCopy: Bool, passesEvictedPagesOn: Bool) -> WriteOutcome {
        // An older file under the key stays on disk until the new one is renamed over it.
        let replaced = forget(page.key)
        var outcome = WriteOutcome()
        let path = path(of: page.key)
        guard copyBytes + page.bytes.count <= capacity else {
            statistics.movedDown += asCopy ? 0 : 1
            if replaced { removeFile(path) }
            outcome.failed = true
            return outcome
        }
        while statistics.bytes + page.bytes.count > capacity, let victim = order.leastRecent {
            statistics.movedDown += 1
            if passesEvictedPagesOn, let bytes = take(victim) {
                outcome.made.pages.append(EncodedPage(key: victim, bytes: bytes))
            } else {
                _ = remove(victim)
                outcome.made.lost.append(victim)
            }
        }
        let modified = nextModificationTime()
        do {
            try DurableFile.write(
                page.bytes,
                to: path,
                through: path + ".tmp",
                directory: directory,
                modified: modified
            )
        } catch {
            logger.error("disk tier: cannot write page", metadata: ["key": "\(page.key)", "reason": "\(error)"])
            if replaced { removeFile(path) }
            outcome.failed = true
            return outcome
        }
        lastWritten = modified
        sizes[page.key] = page.bytes.count
        if asCopy {
            copies.insert(page.key)
            copyBytes += page.bytes.count
        } else {
            order.touch(page.key)
        }
        statistics.recordIn(bytes: page.bytes.count)
        return outcome
    }

    /// Drops `key` from the index and the counters, leaving its file; returns whether it had one.
    private mutating func forget(_ key: PrefixKey) -> Bool {
        guard let size = sizes.removeValue(forKey: key) else { return false }
        order.remove(key)
        if copies.remove(key) != nil { copyBytes -= size }
        statistics.recordOut(bytes: size)
        return true
    }

    /// A modification time after every one given so far, close to now.
    private func nextModificationTime() -> Int {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return max(lastWritten + 1, Int(now.tv_sec) * 1_000_000_000 + Int(now.tv_nsec))
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

import Glibc

/// Whole-file reads and crash-safe whole-file writes: a file is written under a temporary name,
/// fsynced, renamed over its final name and the directory fsynced, so after a crash the final name
/// holds either nothing or the complete file.
enum DurableFile {
    /// Writes `bytes` to `temporaryPath` with modification time `modified` (nanoseconds since the
    /// epoch), fsyncs it, renames it to `path` and fsyncs `directory`. On failure the temporary file
    /// is removed and `path` is unchanged.
    static func write(
        _ bytes: [UInt8],
        to path: String,
        through temporaryPath: String,
        directory: String,
        modified: Int
    ) throws(DiskIOError) {
        let descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .system("open", temporaryPath) }
        var failure: DiskIOError?
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = Glibc.write(descriptor, raw.baseAddress.unsafelyUnwrapped + offset, raw.count - offset)
                if written < 0, errno == EINTR { continue }
                guard written > 0 else {
                    failure = .system("write", temporaryPath)
                    return
                }
                offset += written
            }
        }
        if failure == nil {
            var times = [timespec](
                repeating: timespec(tv_sec: modified / 1_000_000_000, tv_nsec: modified % 1_000_000_000),
                count: 2
            )
            if futimens(descriptor, &times) != 0 { failure = .system("futimens", temporaryPath) }
        }
        if failure == nil, fsync(descriptor) != 0 { failure = .system("fsync", temporaryPath) }
        if close(descriptor) != 0, failure == nil { failure = .system("close", temporaryPath) }
        if failure == nil, rename(temporaryPath, path) != 0 { failure = .system("rename", temporaryPath) }
        if let failure {
            unlink(temporaryPath)
            throw failure
        }
        try syncDirectory(directory)
    }

    /// The whole content of `path`; a file over `limit` bytes is an error, not a read.
    static func read(_ path: String, limit: Int) throws(DiskIOError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .system("open", path) }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw .system("fstat", path) }
        let size = Int(info.st_size)
        guard size >= 0, size <= limit else {
            throw .other("read", path, "\(size) bytes is over the limit of \(limit)")
        }
        var failure: DiskIOError?
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            var offset = 0
            while offset < size {
                let got = Glibc.read(descriptor, buffer.baseAddress.unsafelyUnwrapped + offset, size - offset)
                if got < 0, errno == EINTR { continue }
                guard got > 0 else {
                    failure = got == 0 ? .other("read", path, "file shrank while read") : .system("read", path)
                    break
                }
                offset += got
            }
            count = offset
        }
        if let failure { throw failure }
        return bytes
    }

    /// Sets the modification time of `path` to `modified` (nanoseconds since the epoch) without
    /// syncing: after a crash the file may show its earlier time, never other content.
    static func setModified(_ path: String, to modified: Int) throws(DiskIOError) {
        var times = [timespec](
            repeating: timespec(tv_sec: modified / 1_000_000_000, tv_nsec: modified % 1_000_000_000),
            count: 2
        )
        guard utimensat(AT_FDCWD, path, &times, 0) == 0 else { throw .system("utimensat", path) }
    }

    /// Fsyncs a directory, making renames and removals in it durable.
    static func syncDirectory(_ directory: String) throws(DiskIOError) {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .system("open", directory) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw .system("fsync", directory) }
    }

    /// Removes `path`; a missing file is not an error.
    static func remove(_ path: String) throws(DiskIOError) {
        guard unlink(path) == 0 || errno == ENOENT else { throw .system("unlink", path) }
    }

    /// Creates `directory` and its missing parents.
    static func makeDirectory(_ directory: String) throws(DiskIOError) {
        var prefix = directory.hasPrefix("/") ? "/" : ""
        for component in directory.split(separator: "/") {
            prefix += component + "/"
            guard mkdir(prefix, 0o755) == 0 || errno == EEXIST else { throw .system("mkdir", prefix) }
        }
    }

    /// Names of the entries of `directory` (not `.` and `..`) with their modification times in
    /// nanoseconds since the epoch.
    static func list(_ directory: String) throws(DiskIOError) -> [(name: String, modified: Int)] {
        guard let stream = opendir(directory) else { throw .system("opendir", directory) }
        defer { closedir(stream) }
        var entries: [(String, Int)] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard name != ".", name != ".." else { continue }
            var info = stat()
            guard stat(directory + "/" + name, &info) == 0 else { continue }
            entries.append((name, Int(info.st_mtim.tv_sec) * 1_000_000_000 + Int(info.st_mtim.tv_nsec)))
        }
        return entries
    }
}

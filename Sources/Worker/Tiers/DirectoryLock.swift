import Glibc

/// An exclusive lock on a data directory, held from `init` until the value goes away: `flock` on
/// the file `lock` in the directory. A second process (or a second tier in this one) asking for the
/// same directory is refused instead of sharing its files; the kernel releases the lock when the
/// holder exits, even by `kill -9`.
final class DirectoryLock: Sendable {
    /// The lock file's name in the directory.
    static let fileName = "lock"
    private let descriptor: Int32

    /// Takes the lock of `directory`; throws when another holder has it.
    init(directory: String) throws(DiskIOError) {
        let path = directory + "/" + Self.fileName
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .system("open", path) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let failure: DiskIOError =
                errno == EWOULDBLOCK
                ? .other("lock", path, "the directory is in use by another tier or process") : .system("flock", path)
            close(descriptor)
            throw failure
        }
        self.descriptor = descriptor
    }

    deinit {
        close(descriptor)
    }
}

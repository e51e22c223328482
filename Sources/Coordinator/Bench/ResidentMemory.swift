#if canImport(Glibc)
import Glibc
#endif

/// This process's resident memory, for measuring what a data structure costs: the second field
/// of `/proc/self/statm` (resident pages) times the page size.
///
/// So that the figure follows allocations closely, `prepare()` pins glibc's mmap threshold at
/// 128 KiB (`mallopt(M_MMAP_THRESHOLD)`, which also stops glibc from raising it after each free):
/// every large array is then its own mapping, resident as far as it is touched and returned to
/// the system when freed; `bytes()` first calls `malloc_trim(0)`, so that freed small blocks do not
/// count. Both glibc functions are looked up at run time (Swift's Glibc module does not export
/// them); without them the reading is plain resident memory.
enum ResidentMemory {
    private typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
    private typealias MallocTrim = @convention(c) (Int) -> Int32
    /// glibc's `M_MMAP_THRESHOLD`.
    private static let mmapThresholdParameter: Int32 = -3

    /// Pins the mmap threshold (see the type's description); returns whether glibc took it.
    @discardableResult
    static func prepare() -> Bool {
        #if canImport(Glibc)
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "mallopt") else { return false }
        return unsafeBitCast(symbol, to: Mallopt.self)(mmapThresholdParameter, 128 * 1024) == 1
        #else
        return false
        #endif
    }

    /// Resident bytes now (0 when `/proc/self/statm` cannot be read).
    static func bytes() -> Int {
        #if canImport(Glibc)
        if let symbol = dlsym(dlopen(nil, RTLD_NOW), "malloc_trim") {
            _ = unsafeBitCast(symbol, to: MallocTrim.self)(0)
        }
        guard let file = fopen("/proc/self/statm", "r") else { return 0 }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 256)
        guard fgets(&line, Int32(line.count), file) != nil else { return 0 }
        let fields = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).split(
            separator: " "
        )
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
        #else
        return 0
        #endif
    }
}

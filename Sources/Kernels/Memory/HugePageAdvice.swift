#if canImport(Glibc)
import Glibc
#endif

/// Transparent huge pages for large result buffers. A fresh buffer of tens of megabytes usually
/// comes from a new mapping (glibc maps anything above its mmap threshold, which grows to at most
/// 32 MiB), and its first touch costs one page fault per 4 KiB page; backed by 2 MiB pages it
/// costs one per 2 MiB (on Linux, where transparent huge pages are enabled for regions that ask
/// for them). A buffer from the heap keeps the hint on that part of the heap after it is freed,
/// which is harmless. A hint only: the contents and the result are the same either way.
enum HugePageAdvice {
    /// Bytes of one huge page.
    static let pageBytes = 2 << 20

    /// Asks for the 2 MiB-aligned part of the `byteCount` bytes at `base` to be backed by huge
    /// pages when they are first touched; does nothing for buffers too small to hold one, or on
    /// other systems.
    static func prefer(_ base: UnsafeMutableRawPointer, byteCount: Int) {
        #if canImport(Glibc)
        let address = Int(bitPattern: base)
        let start = (address + pageBytes - 1) & ~(pageBytes - 1)
        let end = (address + byteCount) & ~(pageBytes - 1)
        guard end > start, let aligned = UnsafeMutableRawPointer(bitPattern: start) else { return }
        _ = madvise(aligned, end - start, MADV_HUGEPAGE)
        #endif
    }
}

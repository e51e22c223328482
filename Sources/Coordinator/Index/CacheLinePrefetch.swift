/// A hint that starts moving a cache line towards the core without waiting for it (LLVM's
/// prefetch, `prefetcht0` on x86-64): the prefix index asks for the next key's bucket and entry
/// while the SHA-256 of the key after it is computed, so that the index's cache misses overlap that
/// arithmetic. A prefetch never blocks, never faults and changes nothing but timing.
enum CacheLinePrefetch {
    /// Starts bringing the line holding `address` into every cache level.
    @inline(__always)
    static func line(_ address: UnsafeRawPointer) {
        llvmPrefetch(address, 0, 3, 1)
    }
}

/// LLVM's prefetch intrinsic: address, 0 = read, locality 0–3 (3 = keep in all levels), 1 = data.
@_silgen_name("llvm.prefetch.p0")
private func llvmPrefetch(_ address: UnsafeRawPointer, _ write: Int32, _ locality: Int32, _ cacheType: Int32)

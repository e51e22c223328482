/// Software prefetch: starts moving a cache line towards the core without waiting for it, so that
/// the misses of scattered KV pages overlap arithmetic instead of stalling it. Unlike a load, a
/// prefetch never blocks the instructions after it and never faults, whatever the address.
enum Prefetch {
    /// Bytes per cache line.
    static let lineBytes = 64

    /// Asks for the cache line holding `address` to be brought into every cache level
    /// (`prefetcht0` on x86-64).
    @inline(__always)
    static func line(_ address: UnsafeRawPointer) {
        llvmPrefetch(address, 0, 3, 1)
    }
}

/// LLVM's prefetch intrinsic: address, 0 = read, locality 0–3 (3 = keep in all levels), 1 = data.
@_silgen_name("llvm.prefetch.p0")
private func llvmPrefetch(_ address: UnsafeRawPointer, _ write: Int32, _ locality: Int32, _ cacheType: Int32)

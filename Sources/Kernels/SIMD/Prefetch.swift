/// Software prefetch: starts moving a cache line towards the core without waiting for it, so that
/// the misses of scattered KV pages overlap arithmetic instead of stalling it. Unlike a load, a
/// prefetch never blocks the instructions after it and never faults, whatever the address.
enum Prefetch {
    /// Bytes per cache line.
    static let lineBytes = 64

    /// Asks for the cache line holding `address` to be brought into the second-level cache
    /// (`prefetcht1` on x86-64). Into L2, not L1: a decode block's rows are asked for a pass ahead,
    /// and on Zen 4 `prefetcht0` of that many lines held up the passes' own loads (decode took
    /// 1.7–2 times as long as with `prefetcht1`); the rows move from L2 to L1 as they are read.
    @inline(__always)
    static func line(_ address: UnsafeRawPointer) {
        llvmPrefetch(address, 0, 2, 1)
    }
}

/// LLVM's prefetch intrinsic: address, 0 = read, locality 0–3 (3 = keep in all levels), 1 = data.
@_silgen_name("llvm.prefetch.p0")
private func llvmPrefetch(_ address: UnsafeRawPointer, _ write: Int32, _ locality: Int32, _ cacheType: Int32)

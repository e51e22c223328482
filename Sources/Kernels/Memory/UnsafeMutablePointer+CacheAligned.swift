extension UnsafeMutablePointer {
    /// Uninitialised memory for `capacity` values of `Pointee` that starts on a cache line
    /// (`Prefetch.lineBytes`), so that the kernels' 32-byte vector loads and stores of scratch rows
    /// never straddle two lines (the system allocator aligns to 16 bytes only). Free it with
    /// `deallocate()`.
    static func allocateCacheAligned(capacity: Int) -> UnsafeMutablePointer<Pointee> {
        UnsafeMutableRawPointer.allocate(
            byteCount: capacity * MemoryLayout<Pointee>.stride,
            alignment: Swift.max(Prefetch.lineBytes, MemoryLayout<Pointee>.alignment)
        ).bindMemory(to: Pointee.self, capacity: capacity)
    }
}

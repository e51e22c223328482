import Dispatch

/// In-process measurements of this machine's ceilings, against which benchmarks report fractions:
/// the fp32 fused multiply-add peak and the memory read bandwidth, both on a given thread count.
///
/// Each figure is the best of several repetitions (the machine is shared and noisy); measure in
/// the same run as the work compared with it.
public enum MachineCeilings {
    /// Peak fp32 GFLOP/s (an FMA counts 2 flops) on `threads` threads, each running 12 independent
    /// chains of fused multiply-adds for about `seconds` per repetition; the best of `repetitions`.
    /// Chains of `SIMD16<Float>` (one 512-bit register each with AVX-512) and of `SIMD8<Float>` (one
    /// 256-bit register, so that 12 chains fit AVX2's 16 registers) are both measured and the higher
    /// rate is returned. Returns 0 for a non-positive thread count.
    public static func measureFMAPeak(threads: Int, seconds: Double = 0.25, repetitions: Int = 3) -> Double {
        guard threads > 0 else { return 0 }
        return max(
            fmaPeak(SIMD16<Float>.self, threads: threads, seconds: seconds, repetitions: repetitions),
            fmaPeak(SIMD8<Float>.self, threads: threads, seconds: seconds, repetitions: repetitions)
        )
    }

    /// The FMA peak measured with chains of `Vector`.
    private static func fmaPeak<Vector: SIMD>(
        _: Vector.Type,
        threads: Int,
        seconds: Double,
        repetitions: Int
    ) -> Double where Vector.Scalar == Float, Vector: SendableMetatype {
        // Calibrate the iteration count on one thread.
        var iterations = 1 << 16
        while true {
            let elapsed = time { _ = fmaChains(Vector.self, iterations: iterations, seed: 1) }
            if elapsed >= seconds / 4 || iterations >= 1 << 34 {
                iterations = Int(Double(iterations) * seconds / max(elapsed, 1e-9))
                break
            }
            iterations *= 4
        }
        let count = iterations
        let flops = Double(count) * Double(threads) * 12 * Double(Vector.scalarCount) * 2
        var best = 0.0
        for _ in 0..<max(1, repetitions) {
            let sink = ResultSink(count: threads)
            let elapsed = time {
                DispatchQueue.concurrentPerform(iterations: threads) { thread in
                    sink.store(fmaChains(Vector.self, iterations: count, seed: Float(thread + 1)), at: thread)
                }
            }
            if sink.total.isFinite { best = max(best, flops / elapsed / 1e9) }
        }
        return best
    }

    /// Memory read bandwidth in GB/s (10⁹ bytes per second): `threads` threads sum disjoint slices
    /// of a `bytes`-byte array (allocated and touched first, so pages are resident) with several
    /// `SIMD16<Float>` accumulators; the best of `repetitions`. Returns 0 for non-positive
    /// arguments.
    public static func measureReadBandwidth(threads: Int, bytes: Int = 1 << 30, repetitions: Int = 3) -> Double {
        let vectorBytes = MemoryLayout<SIMD16<Float>>.stride
        let chunk = 8 * vectorBytes
        let chunks = bytes / chunk
        guard threads > 0, chunks >= threads else { return 0 }
        let buffer = ReadBuffer(byteCount: chunks * chunk)
        var best = 0.0
        for _ in 0..<max(1, repetitions) {
            let sink = ResultSink(count: threads)
            let elapsed = time {
                DispatchQueue.concurrentPerform(iterations: threads) { thread in
                    let first = chunks * thread / threads
                    let last = chunks * (thread + 1) / threads
                    sink.store(sum(buffer.base + first * chunk, chunks: last - first), at: thread)
                }
            }
            if sink.total.isFinite { best = max(best, Double(chunks * chunk) / elapsed / 1e9) }
        }
        return best
    }

    /// Twelve dependent FMA chains; returns their sum so the work cannot be removed.
    @inline(never)
    static func fmaChains<Vector: SIMD>(_: Vector.Type, iterations: Int, seed: Float) -> Float
    where Vector.Scalar == Float {
        let a = Vector(repeating: 0.999_999)
        let b = Vector(repeating: 1e-7 * seed)
        var c0 = Vector(repeating: seed)
        var c1 = c0 + 1
        var c2 = c0 + 2
        var c3 = c0 + 3
        var c4 = c0 + 4
        var c5 = c0 + 5
        var c6 = c0 + 6
        var c7 = c0 + 7
        var c8 = c0 + 8
        var c9 = c0 + 9
        var c10 = c0 + 10
        var c11 = c0 + 11
        for _ in 0..<iterations {
            c0 = b.addingProduct(c0, a)
            c1 = b.addingProduct(c1, a)
            c2 = b.addingProduct(c2, a)
            c3 = b.addingProduct(c3, a)
            c4 = b.addingProduct(c4, a)
            c5 = b.addingProduct(c5, a)
            c6 = b.addingProduct(c6, a)
            c7 = b.addingProduct(c7, a)
            c8 = b.addingProduct(c8, a)
            c9 = b.addingProduct(c9, a)
            c10 = b.addingProduct(c10, a)
            c11 = b.addingProduct(c11, a)
        }
        let total = ((c0 + c1) + (c2 + c3)) + ((c4 + c5) + (c6 + c7)) + ((c8 + c9) + (c10 + c11))
        return total.sum()
    }

    /// Sums `chunks` chunks of eight `SIMD16<Float>` starting at `base` (64-byte aligned).
    @inline(never)
    static func sum(_ base: UnsafeRawPointer, chunks: Int) -> Float {
        var s0 = SIMD16<Float>()
        var s1 = s0
        var s2 = s0
        var s3 = s0
        var s4 = s0
        var s5 = s0
        var s6 = s0
        var s7 = s0
        var pointer = base
        for _ in 0..<chunks {
            s0 += pointer.load(fromByteOffset: 0, as: SIMD16<Float>.self)
            s1 += pointer.load(fromByteOffset: 64, as: SIMD16<Float>.self)
            s2 += pointer.load(fromByteOffset: 128, as: SIMD16<Float>.self)
            s3 += pointer.load(fromByteOffset: 192, as: SIMD16<Float>.self)
            s4 += pointer.load(fromByteOffset: 256, as: SIMD16<Float>.self)
            s5 += pointer.load(fromByteOffset: 320, as: SIMD16<Float>.self)
            s6 += pointer.load(fromByteOffset: 384, as: SIMD16<Float>.self)
            s7 += pointer.load(fromByteOffset: 448, as: SIMD16<Float>.self)
            pointer += 512
        }
        return (((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))).sum()
    }

    /// Memory-copy bandwidth in GB/s: bytes copied per second by one `memcpy` of a `bytes` buffer
    /// (256 MiB by default, far larger than the caches), best of `repetitions`.
    public static func measureCopyBandwidth(bytes: Int = 256 << 20, repetitions: Int = 5) -> Double {
        let source = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        let target = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        defer {
            source.deallocate()
            target.deallocate()
        }
        source.initializeMemory(as: UInt8.self, repeating: 1, count: bytes)
        target.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        var best = Double.infinity
        for _ in 0..<max(1, repetitions) {
            best = min(best, time { target.copyMemory(from: source, byteCount: bytes) })
        }
        return Double(bytes) / best / 1e9
    }

    /// Wall-clock seconds `body` takes.
    static func time(_ body: () -> Void) -> Double {
        let clock = ContinuousClock()
        let elapsed = clock.measure(body)
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }

    /// A 64-byte aligned array of floats, written once so that its pages are resident, then only read.
    private final class ReadBuffer: @unchecked Sendable {
        let base: UnsafeRawPointer
        private let storage: UnsafeMutableRawPointer

        init(byteCount: Int) {
            storage = .allocate(byteCount: byteCount, alignment: 64)
            let floats = storage.bindMemory(to: Float.self, capacity: byteCount / 4)
            for i in 0..<byteCount / 4 { floats[i] = Float(i & 1023) * 0.001 }
            base = UnsafeRawPointer(storage)
        }

        deinit { storage.deallocate() }
    }

    /// One result slot per thread, so each measured loop's result is consumed.
    private final class ResultSink: @unchecked Sendable {
        private let values: UnsafeMutablePointer<Float>
        private let count: Int

        init(count: Int) {
            self.count = count
            values = .allocate(capacity: count)
            values.initialize(repeating: 0, count: count)
        }

        deinit { values.deallocate() }

        /// Each thread writes only its own slot.
        func store(_ value: Float, at index: Int) { values[index] = value }

        var total: Float { (0..<count).reduce(0) { $0 + values[$1] } }
    }
}

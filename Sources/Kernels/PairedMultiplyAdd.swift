#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// Integer multiply-add of 16-bit lanes in adjacent pairs, the core of the int8 score dot product.
enum PairedMultiplyAdd {
    /// `result[i] = a[2i] * b[2i] + a[2i+1] * b[2i+1]` in `Int32` (exact: no product pair can
    /// overflow). One `vpmaddwd` on x86-64; LLVM splits the portable expression into two.
    @inline(__always)
    static func apply(_ a: SIMD16<Int16>, _ b: SIMD16<Int16>) -> SIMD8<Int32> {
        #if arch(x86_64)
        unsafeBitCast(
            _mm256_madd_epi16(unsafeBitCast(a, to: __m256i.self), unsafeBitCast(b, to: __m256i.self)),
            to: SIMD8<Int32>.self)
        #else
        let aw = unsafeBitCast(a, to: SIMD8<Int32>.self), bw = unsafeBitCast(b, to: SIMD8<Int32>.self)
        return ((aw &<< 16) &>> 16) &* ((bw &<< 16) &>> 16) &+ (aw &>> 16) &* (bw &>> 16)
        #endif
    }

    /// The signed bytes at even and at odd positions of 32 bytes, each widened to 16 bits:
    /// `(even[i], odd[i]) = (bytes[2i], bytes[2i+1])`.
    @inline(__always)
    static func splitBytes(_ pointer: UnsafeRawPointer) -> (even: SIMD16<Int16>, odd: SIMD16<Int16>) {
        let words = pointer.loadUnaligned(as: SIMD16<Int16>.self)
        return ((words &<< 8) &>> 8, words &>> 8)
    }
}

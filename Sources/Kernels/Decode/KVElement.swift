/// A K/V storage type as the decode kernel reads it: 8 consecutive elements of a row straight into
/// a `SIMD8<Float>` (one `vcvtph2ps`, `vpmovsxbd` + `vcvtdq2ps` or shift on x86), never through memory.
protocol KVElement {
    /// Bytes per element.
    static var size: Int { get }
    /// Whether rows carry a `Float` scale to multiply by (int8).
    static var isScaled: Bool { get }
    /// Elements `0..<8` at `pointer` as floats (unscaled).
    static func load8(_ pointer: UnsafeRawPointer) -> SIMD8<Float>
}

/// `f32` storage.
enum F32Element: KVElement {
    static var size: Int { 4 }
    static var isScaled: Bool { false }
    @inline(__always)
    static func load8(_ pointer: UnsafeRawPointer) -> SIMD8<Float> {
        pointer.loadUnaligned(as: SIMD8<Float>.self)
    }
}

/// `f16` storage.
enum F16Element: KVElement {
    static var size: Int { 2 }
    static var isScaled: Bool { false }
    @inline(__always)
    static func load8(_ pointer: UnsafeRawPointer) -> SIMD8<Float> {
        SIMD8<Float>(pointer.loadUnaligned(as: SIMD8<Float16>.self))
    }
}

/// `bf16` storage: the upper half of a `Float`.
enum BF16Element: KVElement {
    static var size: Int { 2 }
    static var isScaled: Bool { false }
    @inline(__always)
    static func load8(_ pointer: UnsafeRawPointer) -> SIMD8<Float> {
        let bits = SIMD8<UInt32>(truncatingIfNeeded: pointer.loadUnaligned(as: SIMD8<UInt16>.self)) &<< 16
        return unsafeBitCast(bits, to: SIMD8<Float>.self)
    }
}

/// `int8` storage; the row scale is applied by the caller.
enum Int8Element: KVElement {
    static var size: Int { 1 }
    static var isScaled: Bool { true }
    @inline(__always)
    static func load8(_ pointer: UnsafeRawPointer) -> SIMD8<Float> {
        VectorMath.float(SIMD8<Int32>(truncatingIfNeeded: pointer.loadUnaligned(as: SIMD8<Int8>.self)))
    }
}

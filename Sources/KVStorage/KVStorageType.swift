/// How K and V elements are stored. Kernels always compute in `Float`, whatever the storage.
public enum KVStorageType: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// IEEE single precision.
    case f32
    /// IEEE half precision.
    case f16
    /// bfloat16, rounded to nearest even on store.
    case bf16
    /// Signed 8-bit values with one `Float` scale per (token, head) row of `headDim` elements:
    /// `x ≈ scale * q`, `scale = max|x| / 127`, `q = round(x / scale)`.
    case int8

    /// Bytes one element takes, not counting int8's per-row scales.
    @inlinable
    public var bytesPerElement: Int {
        switch self {
        case .f32: 4
        case .f16, .bf16: 2
        case .int8: 1
        }
    }

    public var description: String { rawValue }
}

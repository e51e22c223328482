/// The element type of a tensor in a bulk frame, with its one-byte wire code.
public enum TensorElementType: UInt8, Sendable, Hashable, CaseIterable {
    /// IEEE single precision, code 0.
    case f32 = 0
    /// IEEE half precision, code 1.
    case f16 = 1
    /// bfloat16 (the top 16 bits of an f32), code 2.
    case bf16 = 2

    /// Bytes per element.
    public var byteCount: Int {
        switch self {
        case .f32: 4
        case .f16, .bf16: 2
        }
    }
}

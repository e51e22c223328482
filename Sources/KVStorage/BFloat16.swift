/// A 16-bit brain floating-point value: the upper half of an IEEE-754 `Float`.
///
/// Conversion from `Float` rounds to nearest, ties to even; NaN stays NaN (quiet).
/// Conversion to `Float` is exact (a 16-bit left shift).
public struct BFloat16: Sendable, Hashable, CustomStringConvertible {
    /// The raw 16 bits: sign, 8 exponent bits, 7 mantissa bits.
    public var bitPattern: UInt16

    /// Wraps raw bits without conversion.
    @inlinable
    public init(bitPattern: UInt16) {
        self.bitPattern = bitPattern
    }

    /// Rounds `value` to the nearest bf16, ties to even.
    @inlinable
    public init(_ value: Float) {
        let bits = value.bitPattern
        if value.isNaN {
            bitPattern = UInt16(truncatingIfNeeded: bits >> 16) | 0x0040
            return
        }
        let lsb = (bits >> 16) & 1
        let rounded = bits &+ 0x7FFF &+ lsb
        bitPattern = UInt16(truncatingIfNeeded: rounded >> 16)
    }

    /// The exact `Float` value of this bf16.
    @inlinable
    public var floatValue: Float {
        Float(bitPattern: UInt32(bitPattern) << 16)
    }

    public var description: String { floatValue.description }
}

extension Float {
    /// The exact value of a bf16.
    @inlinable
    public init(_ value: BFloat16) {
        self = value.floatValue
    }
}

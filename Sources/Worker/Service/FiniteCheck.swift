/// Finds NaN and infinities in request tensors before anything is appended: one pass over the
/// floats, sixteen at a time (a float is not finite when its exponent bits are all ones).
enum FiniteCheck {
    /// The index of the first NaN or infinite element of `values`, or nil when every one is finite.
    static func firstNonFinite(in values: [Float]) -> Int? {
        values.withUnsafeBufferPointer { buffer -> Int? in
            var index = 0
            if let base = buffer.baseAddress {
                let raw = UnsafeRawPointer(base)
                let exponent = SIMD16<UInt32>(repeating: 0x7F80_0000)
                while index + 16 <= buffer.count {
                    let bits = raw.loadUnaligned(
                        fromByteOffset: index * MemoryLayout<Float>.stride,
                        as: SIMD16<UInt32>.self
                    )
                    if any(bits & exponent .== exponent) { break }
                    index += 16
                }
            }
            while index < buffer.count {
                if !buffer[index].isFinite { return index }
                index += 1
            }
            return nil
        }
    }
}

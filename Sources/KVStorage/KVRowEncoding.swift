/// Stores one row of `Float` values in a `KVStorageType`, the one rounding every part of the
/// cluster agrees on: f16 and bf16 round to nearest (ties to even), int8 quantises the row with
/// one scale `max|x| / 127` and rounds `x / scale` to nearest even, clamped to ±127.
///
/// The functions are `@inlinable` so that a caller compiled for a specific CPU (the kernels)
/// vectorises them for that CPU, while portable callers (the page codec) run them as they are.
public enum KVRowEncoding {
    /// Writes `values` as elements `first ..< first + values.count` of `storage` in `bytes`
    /// (raw little-endian elements) and returns the row's int8 scale (0 for other storage types).
    /// The caller guarantees that `bytes` holds those elements.
    @inlinable
    public static func store(
        _ values: UnsafeBufferPointer<Float>,
        as storage: KVStorageType,
        into bytes: UnsafeMutableRawBufferPointer,
        firstElement first: Int
    ) -> Float {
        let n = values.count
        switch storage {
        case .f32:
            let dst = bytes.bindMemory(to: Float.self)
            for i in 0..<n { dst[first + i] = values[i] }
            return 0
        case .f16:
            let dst = bytes.bindMemory(to: Float16.self)
            for i in 0..<n { dst[first + i] = Float16(values[i]) }
            return 0
        case .bf16:
            let dst = bytes.bindMemory(to: UInt16.self)
            for i in 0..<n { dst[first + i] = BFloat16(values[i]).bitPattern.littleEndian }
            return 0
        case .int8:
            var maxAbs: Float = 0
            for i in 0..<n { maxAbs = max(maxAbs, abs(values[i])) }
            let scale = maxAbs / 127
            let inverse: Float = scale > 0 ? 1 / scale : 0
            let dst = bytes.bindMemory(to: Int8.self)
            for i in 0..<n {
                let q = (values[i] * inverse).rounded(.toNearestOrEven)
                dst[first + i] = Int8(max(-127, min(127, q)))
            }
            return scale
        }
    }
}

import CacheProtocol
import Kernels

extension WireTensor {
    /// The elements as `Float`, whatever the element type (f16 and bf16 are widened exactly).
    func floatValues() -> [Float] {
        let count = elementType == .f32 ? bytes.count / 4 : bytes.count / 2
        return bytes.withUnsafeBytes { raw in
            switch elementType {
            case .f32:
                (0..<count).map {
                    Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)))
                }
            case .f16:
                (0..<count).map {
                    Float(
                        Float16(
                            bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))
                        )
                    )
                }
            case .bf16:
                (0..<count).map {
                    Float(
                        bitPattern: UInt32(
                            UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))
                        ) << 16
                    )
                }
            }
        }
    }
}

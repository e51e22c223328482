import Kernels

extension KVStorageType {
    /// Accepted relative L2 error of a kernel's output against the reference for this storage.
    var outputTolerance: Double {
        switch self {
        case .f32: 2e-5
        case .f16: 1e-2
        case .bf16: 2e-2
        case .int8: 4e-2
        }
    }
}

/// The one-byte code of each `KVStorageType` in binary encodings (fingerprint, wire).
enum KVStorageCode {
    /// `f32` = 0, `f16` = 1, `bf16` = 2, `int8` = 3.
    static func code(of storage: KVStorageType) -> UInt8 {
        switch storage {
        case .f32: 0
        case .f16: 1
        case .bf16: 2
        case .int8: 3
        }
    }

    /// The storage type of `code`, or `nil` for an unknown code.
    static func storage(of code: UInt8) -> KVStorageType? {
        KVStorageType.allCases.first { Self.code(of: $0) == code }
    }

    /// The text names, for error messages.
    static var allNames: String { KVStorageType.allCases.map(\.rawValue).joined(separator: "|") }
}

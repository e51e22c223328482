/// Why a model spec, or its text form, was refused.
public enum ModelSpecError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The name is empty, longer than `ModelSpec.maxNameBytes`, or has a character outside `[A-Za-z0-9._-]`.
    case invalidName(String)
    /// A dimension is outside its allowed range.
    case outOfRange(field: String, value: Int, range: ClosedRange<Int>)
    /// `queryHeads` is not a multiple of `kvHeads`.
    case headsNotDivisible(queryHeads: Int, kvHeads: Int)
    /// A comma-separated item of the text form has no `=`.
    case malformedItem(String)
    /// A key the text form does not know.
    case unknownKey(String)
    /// A key given twice.
    case duplicateKey(String)
    /// A required key that is absent.
    case missingKey(String)
    /// A value that is not a decimal integer.
    case invalidNumber(key: String, value: String)
    /// A `kv=` value that names no storage type.
    case unknownStorage(String)
    /// A storage code in a binary encoding that names no storage type.
    case unknownStorageCode(UInt8)

    /// A readable explanation.
    public var description: String {
        switch self {
        case .invalidName(let name):
            "model name \"\(name)\" must be 1 to \(ModelSpec.maxNameBytes) characters from A-Z a-z 0-9 . _ -"
        case .outOfRange(let field, let value, let range):
            "\(field) = \(value) is outside \(range.lowerBound)...\(range.upperBound)"
        case .headsNotDivisible(let queryHeads, let kvHeads):
            "q-heads (\(queryHeads)) must be a multiple of kv-heads (\(kvHeads))"
        case .malformedItem(let item):
            "\"\(item)\" is not key=value"
        case .unknownKey(let key):
            "unknown key \"\(key)\" (known: \(ModelSpec.textKeys.joined(separator: ", ")))"
        case .duplicateKey(let key):
            "key \"\(key)\" is given more than once"
        case .missingKey(let key):
            "key \"\(key)\" is missing"
        case .invalidNumber(let key, let value):
            "\(key)=\(value): not a decimal integer"
        case .unknownStorage(let value):
            "kv=\(value): expected one of \(KVStorageCode.allNames)"
        case .unknownStorageCode(let code):
            "KV storage code \(code) names no storage type"
        }
    }
}

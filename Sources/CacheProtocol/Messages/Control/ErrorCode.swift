/// Why a request failed, as the u16 code of `ErrorReply`. A minor version may add codes; a code this
/// side does not know decodes as `unrecognised` and keeps its number.
public enum ErrorCode: Sendable, Hashable, CustomStringConvertible {
    /// 1: the request is malformed, exceeds a limit, or has an unknown type or bad fields.
    case badRequest
    /// 2: the sequence id names no open sequence here.
    case unknownSequence
    /// 3: not enough pages or storage for the request; nothing was changed.
    case capacity
    /// 4: stored or received page data failed its checksum.
    case checksum
    /// 5: the request's protocol version is not spoken here.
    case version
    /// 6: the peer is not allowed to make this request.
    case unauthorised
    /// 7: the answerer failed for a reason of its own.
    case `internal`
    /// 8: the coordinator does not know the sending worker (it restarted): register again.
    case notRegistered
    /// 9: a worker the request needs is dead or draining; the client reopens the sequence.
    case unavailable
    /// 10: the model fingerprint differs from the cluster's.
    case modelMismatch
    /// A code this side does not know.
    case unrecognised(UInt16)

    /// Every code this side knows.
    public static let known: [ErrorCode] = [
        .badRequest, .unknownSequence, .capacity, .checksum, .version, .unauthorised, .internal,
        .notRegistered, .unavailable, .modelMismatch,
    ]

    /// The code's u16 value.
    public var rawValue: UInt16 {
        switch self {
        case .badRequest: 1
        case .unknownSequence: 2
        case .capacity: 3
        case .checksum: 4
        case .version: 5
        case .unauthorised: 6
        case .internal: 7
        case .notRegistered: 8
        case .unavailable: 9
        case .modelMismatch: 10
        case .unrecognised(let code): code
        }
    }

    /// The code with value `rawValue`, `unrecognised` for an unknown value.
    public init(rawValue: UInt16) {
        self = Self.known.first { $0.rawValue == rawValue } ?? .unrecognised(rawValue)
    }

    /// A readable explanation.
    public var description: String {
        switch self {
        case .badRequest: "bad request"
        case .unknownSequence: "unknown sequence"
        case .capacity: "out of capacity"
        case .checksum: "checksum mismatch"
        case .version: "unsupported protocol version"
        case .unauthorised: "unauthorised"
        case .internal: "internal error"
        case .notRegistered: "worker not registered"
        case .unavailable: "worker unavailable"
        case .modelMismatch: "model mismatch"
        case .unrecognised(let code): "error code \(code)"
        }
    }
}

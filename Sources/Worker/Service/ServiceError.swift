import CacheProtocol
import Kernels

/// Why the attention service refused a request: each case is answered with the `ErrorReply` code
/// it names, and the service keeps serving.
enum ServiceError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Malformed, inconsistent with the model or the sequence's state, or not handled here.
    case badRequest(String)
    /// No open sequence with this id.
    case unknownSequence(UInt64)
    /// Not enough pages; nothing was changed.
    case capacity(String)
    /// Page data failed its checksum.
    case checksum(String)
    /// A page of another model or page layout.
    case modelMismatch(String)
    /// The worker is draining, or a peer it needs cannot be reached.
    case unavailable(String)
    /// The worker failed for a reason of its own.
    case `internal`(String)

    /// A storage refusal: unknown sequences and capacity keep their meaning, inconsistent
    /// requests are bad requests, and broken bookkeeping is internal.
    init(_ error: StorageError) {
        switch error {
        case let .unknownSequence(id): self = .unknownSequence(id.rawValue)
        case .capacity, .budgetTooSmall: self = .capacity(error.description)
        case .layerOutOfRange, .slotOutOfRange, .shapeMismatch, .pageBytesLength, .invalidScale,
            .truncateBeyondLength, .tooManyPageKeys, .sequenceExists:
            self = .badRequest(error.description)
        case .invalidGeometry, .invalidPageCount, .doubleRelease, .unknownPage, .pageNotAllocated:
            self = .internal(error.description)
        }
    }

    /// A kernel refusal: the request's shapes or lengths do not fit the sequence.
    init(_ error: KernelError) {
        self = .badRequest("attention: \(error.description)")
    }

    /// A page that could not be decoded: checksum failures keep their code, the rest is malformed.
    init(_ error: PageCodecError) {
        switch error {
        case .checksumMismatch: self = .checksum(error.description)
        default: self = .badRequest("page: \(error.description)")
        }
    }

    /// The same refusal with its message led by the sequence it concerns (`sequence <id>: …`); an
    /// unknown sequence names its id already.
    func about(sequence id: UInt64) -> ServiceError {
        about("sequence \(id)")
    }

    /// The same refusal with its message led by `subject` (`<subject>: …`); an unknown sequence
    /// names its id already.
    func about(_ subject: String) -> ServiceError {
        switch self {
        case let .badRequest(why): .badRequest("\(subject): \(why)")
        case .unknownSequence: self
        case let .capacity(why): .capacity("\(subject): \(why)")
        case let .checksum(why): .checksum("\(subject): \(why)")
        case let .modelMismatch(why): .modelMismatch("\(subject): \(why)")
        case let .unavailable(why): .unavailable("\(subject): \(why)")
        case let .internal(why): .internal("\(subject): \(why)")
        }
    }

    /// The wire code of the refusal.
    var code: ErrorCode {
        switch self {
        case .badRequest: .badRequest
        case .unknownSequence: .unknownSequence
        case .capacity: .capacity
        case .checksum: .checksum
        case .modelMismatch: .modelMismatch
        case .unavailable: .unavailable
        case .internal: .internal
        }
    }

    /// The refusal as a reply body.
    var reply: ErrorReply { ErrorReply(code: code, message: description) }

    /// What is wrong, in one sentence.
    var description: String {
        switch self {
        case let .badRequest(why), let .capacity(why), let .checksum(why), let .modelMismatch(why),
            let .unavailable(why), let .internal(why):
            why
        case let .unknownSequence(id): "no open sequence with id \(id)"
        }
    }
}

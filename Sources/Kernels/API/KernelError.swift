/// Why a kernel refused its arguments. Every kernel entry point validates its input and throws one
/// of these instead of trapping; the description names what is wrong.
public enum KernelError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A buffer holds `actual` elements where the stated shape needs `expected`.
    case shapeMismatch(tensor: String, expected: Int, actual: Int)
    /// A dimension is zero, negative or otherwise impossible.
    case invalidDimension(name: String, value: Int)
    /// `queryHeads` is not a multiple of `kvHeads`.
    case headRatio(queryHeads: Int, kvHeads: Int)
    /// The softmax scale is NaN, infinite or not positive.
    case invalidScale(Float)
    /// A window side is negative and not -1 (unbounded).
    case invalidWindow(left: Int, right: Int)
    /// The softcap is NaN, infinite or not positive.
    case invalidSoftcap(Float)
    /// The ALiBi slope list does not have one finite slope per query head.
    case invalidAlibi(expected: Int, actual: Int)
    /// The block-sparse mask does not cover the query × key tile grid.
    case invalidBlockSparseMask(String)
    /// Cumulative sequence offsets are not non-decreasing from 0 to the total, or the query and
    /// key offset lists describe a different number of sequences.
    case invalidOffsets(String)
    /// A block table names a page outside the pool.
    case pageOutOfRange(sequence: Int, page: Int, poolPages: Int)
    /// A sequence's KV length needs more pages than its block table has.
    case kvLengthExceedsBlockTable(sequence: Int, kvLength: Int, capacity: Int)
    /// Under a causal mask, a sequence has fewer cached tokens than query tokens (its first queries
    /// would see no key).
    case kvLengthTooShort(sequence: Int, kvLength: Int, queryLength: Int)
    /// K and V are stored in different types, or a tensor's storage differs from what is required.
    case storageMismatch(String)
    /// The thread count is not positive.
    case invalidThreadCount(Int)
    /// Partial results to merge disagree in shape, or there are none.
    case mergeMismatch(String)

    /// The index, within the call's batch, of the sequence the error is about; nil when it is about
    /// the call as a whole.
    public var sequence: Int? {
        switch self {
        case let .pageOutOfRange(sequence, _, _), let .kvLengthExceedsBlockTable(sequence, _, _),
            let .kvLengthTooShort(sequence, _, _):
            sequence
        default:
            nil
        }
    }

    /// What is wrong, without the sequence index that `description` puts in front (a caller that
    /// knows the sequence by another name, such as a sequence id, names it itself).
    public var detail: String {
        switch self {
        case let .shapeMismatch(tensor, expected, actual):
            "\(tensor) has \(actual) elements, its shape needs \(expected)"
        case let .invalidDimension(name, value):
            "\(name) must be positive, got \(value)"
        case let .headRatio(queryHeads, kvHeads):
            "query heads (\(queryHeads)) must be a positive multiple of KV heads (\(kvHeads))"
        case let .invalidScale(scale):
            "scale must be finite and positive, got \(scale)"
        case let .invalidWindow(left, right):
            "window sides must be >= 0 or -1 (unbounded), got (\(left), \(right))"
        case let .invalidSoftcap(cap):
            "softcap must be finite and positive, got \(cap)"
        case let .invalidAlibi(expected, actual):
            "ALiBi needs \(expected) finite slopes (one per query head), got \(actual)"
        case let .invalidBlockSparseMask(why):
            "block-sparse mask: \(why)"
        case let .invalidOffsets(why):
            "sequence offsets: \(why)"
        case let .pageOutOfRange(_, page, poolPages):
            "block table names page \(page), the pool has \(poolPages) pages"
        case let .kvLengthExceedsBlockTable(_, kvLength, capacity):
            "KV length \(kvLength) exceeds its block table's \(capacity) tokens"
        case let .kvLengthTooShort(_, kvLength, queryLength):
            "KV length \(kvLength) is shorter than its \(queryLength) query tokens under a causal mask"
        case let .storageMismatch(why):
            "storage: \(why)"
        case let .invalidThreadCount(count):
            "thread count must be positive, got \(count)"
        case let .mergeMismatch(why):
            "merge: \(why)"
        }
    }

    /// What is wrong, in one sentence; an error about one sequence of the batch starts with
    /// `sequence <index>:`.
    public var description: String {
        sequence.map { "sequence \($0): \(detail)" } ?? detail
    }
}

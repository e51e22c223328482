/// Why the worker's KV store refused a request. Every entry point validates its input and throws
/// one of these instead of trapping; the description says what is wrong.
public enum StorageError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A page geometry dimension is impossible.
    case invalidGeometry(String)
    /// The memory budget does not hold a single page.
    case budgetTooSmall(budget: Int, bytesPerPage: Int)
    /// A pool was asked for zero or a negative number of pages.
    case invalidPageCount(Int)
    /// `needed` pages were asked for but only `available` are free or evictable.
    case capacity(needed: Int, available: Int)
    /// A page was released while no reference to it was held.
    case doubleRelease(page: Int)
    /// A page id outside the pool.
    case unknownPage(page: Int, pageCount: Int)
    /// A free page was retained.
    case pageNotAllocated(page: Int)
    /// A layer index outside the model.
    case layerOutOfRange(layer: Int, layers: Int)
    /// A token slot outside a page.
    case slotOutOfRange(slot: Int, pageSize: Int)
    /// A buffer holds `actual` elements where `expected` are needed.
    case shapeMismatch(what: String, expected: Int, actual: Int)
    /// An imported page has `actual` bytes where the geometry needs `expected`.
    case pageBytesLength(expected: Int, actual: Int)
    /// An imported int8 page carries a scale that is negative, NaN or infinite.
    case invalidScale(index: Int, value: Float)
    /// No live sequence has this id.
    case unknownSequence(SequenceID)
    /// A sequence was opened under an id a live sequence already has.
    case sequenceExists(SequenceID)
    /// A truncation asked for more tokens than every layer of the sequence holds.
    case truncateBeyondLength(SequenceID, requested: Int, length: Int)
    /// A commit named more page keys than the sequence has full pages.
    case tooManyPageKeys(SequenceID, keys: Int, fullPages: Int)

    /// What is wrong, in one sentence.
    public var description: String {
        switch self {
        case let .invalidGeometry(why):
            "page geometry: \(why)"
        case let .budgetTooSmall(budget, bytesPerPage):
            "a memory budget of \(budget) bytes does not hold one page of \(bytesPerPage) bytes"
        case let .invalidPageCount(count):
            "page count must be positive, got \(count)"
        case let .capacity(needed, available):
            "out of capacity: \(needed) pages needed, \(available) free or evictable"
        case let .doubleRelease(page):
            "page \(page) released while it holds no reference"
        case let .unknownPage(page, pageCount):
            "page \(page) is outside the pool of \(pageCount) pages"
        case let .pageNotAllocated(page):
            "page \(page) is free and cannot be retained"
        case let .layerOutOfRange(layer, layers):
            "layer \(layer) is outside the model's \(layers) layers"
        case let .slotOutOfRange(slot, pageSize):
            "slot \(slot) is outside a page of \(pageSize) tokens"
        case let .shapeMismatch(what, expected, actual):
            "\(what) has \(actual) elements, \(expected) expected"
        case let .pageBytesLength(expected, actual):
            "page data has \(actual) bytes, the page layout needs \(expected)"
        case let .invalidScale(index, value):
            "page data: int8 scale \(index) is \(value), it must be finite and non-negative"
        case let .unknownSequence(id):
            "unknown sequence \(id)"
        case let .sequenceExists(id):
            "sequence \(id) is already open"
        case let .truncateBeyondLength(id, requested, length):
            "sequence \(id): cannot truncate to \(requested) tokens, every layer holds only \(length)"
        case let .tooManyPageKeys(id, keys, fullPages):
            "sequence \(id): \(keys) page keys given, it has \(fullPages) full pages"
        }
    }
}

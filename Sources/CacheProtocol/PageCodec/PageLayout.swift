/// The shape and element type of one KV page.
///
/// A page's raw content is the elements `[layers, 2 (K, V), pageSize, kvHeads, headDim]` in the
/// storage type (little-endian), followed, for `int8`, by the scales `[layers, 2, pageSize, kvHeads]`
/// as little-endian `Float`. Every dimension is at least 1 and the raw content is at most
/// `maxRawByteCount` bytes.
public struct PageLayout: Sendable, Hashable, CustomStringConvertible {
    /// Model layers a page spans.
    public let layers: Int
    /// Tokens in a page.
    public let pageSize: Int
    /// KV heads.
    public let kvHeads: Int
    /// Elements in one head's K or V row.
    public let headDim: Int
    /// How elements are stored.
    public let storage: KVStorageType

    /// The largest raw page: 1 GiB (LZ4 blocks are limited to about 2 GB).
    public static let maxRawByteCount = 1 << 30

    /// A layout; throws `PageCodecError.invalidLayout` when a dimension is below 1 or the raw
    /// content would exceed `maxRawByteCount`.
    public init(layers: Int, pageSize: Int, kvHeads: Int, headDim: Int, storage: KVStorageType) throws(PageCodecError) {
        let dims = [layers, pageSize, kvHeads, headDim]
        guard dims.allSatisfy({ $0 >= 1 && $0 <= Int(UInt32.max) }) else {
            throw .invalidLayout("every dimension must be between 1 and \(UInt32.max), got \(dims)")
        }
        var rows = 2 * layers
        var overflow = false
        for factor in [pageSize, kvHeads] where !overflow {
            (rows, overflow) = rows.multipliedReportingOverflow(by: factor)
        }
        let perRow = headDim * storage.bytesPerElement + (storage == .int8 ? 4 : 0)
        let (total, last) = rows.multipliedReportingOverflow(by: perRow)
        guard !overflow, !last, total <= Self.maxRawByteCount else {
            throw .invalidLayout("a page of \(dims) \(storage) exceeds \(Self.maxRawByteCount) bytes")
        }
        self.layers = layers
        self.pageSize = pageSize
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.storage = storage
    }

    /// Rows of `headDim` elements: `layers * 2 * pageSize * kvHeads`.
    public var rowCount: Int { layers * 2 * pageSize * kvHeads }

    /// Elements in the page: `rowCount * headDim`.
    public var elementCount: Int { rowCount * headDim }

    /// Bytes of the elements section.
    public var elementByteCount: Int { elementCount * storage.bytesPerElement }

    /// Bytes of the scales section: one `Float` per row for `int8`, none otherwise.
    public var scaleByteCount: Int { storage == .int8 ? rowCount * 4 : 0 }

    /// Bytes of the raw page: elements then scales.
    public var rawByteCount: Int { elementByteCount + scaleByteCount }

    public var description: String {
        "[\(layers), 2, \(pageSize), \(kvHeads), \(headDim)] \(storage)"
    }
}

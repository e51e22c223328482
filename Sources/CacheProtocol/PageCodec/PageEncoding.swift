/// What the page codec is asked to do with a page: a filter, then a compression.
///
/// A requested `lz4` is only kept when it saves at least `PageCodec.minimumSavingDivisor`-th of the
/// raw bytes; otherwise the page is stored `raw` with filter `none`.
public struct PageEncoding: Sendable, Hashable, CustomStringConvertible {
    /// The shuffle filter applied before compression.
    public var filter: PageFilter
    /// The compression applied to the filtered bytes.
    public var compression: PageCompression

    /// An encoding.
    public init(filter: PageFilter, compression: PageCompression) {
        self.filter = filter
        self.compression = compression
    }

    /// No filter, no compression.
    public static let raw = PageEncoding(filter: .none, compression: .raw)

    public var description: String { "\(filter)+\(compression)" }
}

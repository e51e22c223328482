/// A reversible reordering of a page's bytes applied before compression, so that bytes (or bits)
/// of equal significance sit together and LZ4 finds repeats.
///
/// Filters work on each section of the page (elements, then int8 scales) separately, with the
/// section's element size `s`: 2 for f16/bf16, 4 for f32 and scales, 1 for int8 elements.
public enum PageFilter: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Bytes as they are.
    case none = 0
    /// Byte planes: byte `j` of every element, for `j` in `0..<s`, plane after plane.
    case byteShuffle = 1
    /// Bit planes: the byte planes, each then split into its 8 bit planes (bit 0 first), 8 elements
    /// per byte, least significant bit first; a plane's last `n mod 8` bytes follow its bit planes
    /// unchanged.
    case bitShuffle = 2

    public var description: String {
        switch self {
        case .none: "none"
        case .byteShuffle: "byteshuffle"
        case .bitShuffle: "bitshuffle"
        }
    }
}

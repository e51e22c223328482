/// A number of bytes written with an optional unit: plain bytes (`4096`, `4096B`), decimal
/// (`100kB`, `100KB`, `100MB`, `8GB`, `1TB`: powers of 1000) or binary (`512KiB`, `512MiB`,
/// `8GiB`, `1TiB`: powers of 1024). Units are case-sensitive as written here, except that `K`
/// and `k` are both accepted for kilo.
struct ByteSize: Sendable, Hashable, CustomStringConvertible {
    /// The number of bytes.
    let bytes: Int

    /// Units and their multipliers.
    private static let units: [(suffix: String, multiplier: Int)] = [
        ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("TiB", 1 << 40),
        ("kB", 1000), ("KB", 1000), ("MB", 1_000_000), ("GB", 1_000_000_000), ("TB", 1_000_000_000_000),
        ("B", 1),
    ]

    /// Wraps a byte count.
    init(bytes: Int) {
        self.bytes = bytes
    }

    /// Parses `text`; throws `.invalidByteSize` for an empty or negative number, an unknown unit,
    /// or a size that does not fit in `Int`.
    init(parsing text: String) throws(ConfigurationError) {
        var number = Substring(text)
        var multiplier = 1
        for unit in Self.units where number.hasSuffix(unit.suffix) {
            number = number.dropLast(unit.suffix.count)
            multiplier = unit.multiplier
            break
        }
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(number) else {
            throw .invalidByteSize(text)
        }
        let (bytes, overflow) = value.multipliedReportingOverflow(by: multiplier)
        guard !overflow else { throw .invalidByteSize(text) }
        self.bytes = bytes
    }

    /// The byte count in decimal.
    var description: String { "\(bytes) bytes" }
}

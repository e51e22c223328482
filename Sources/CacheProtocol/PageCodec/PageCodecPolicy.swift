/// The encoding the page codec uses for each storage type when a call does not name one.
///
/// The default table comes from measurements on real KV pages (`mfa-coordinator bench transport`,
/// docs/BENCHMARKS.md, "Transport and page codec"):
///
/// | storage | encoding | why |
/// | --- | --- | --- |
/// | f32 | byte shuffle + LZ4 | exponent bytes repeat once grouped |
/// | f16 | raw | LZ4 saves nothing on f16 with or without a shuffle: the low byte is noise |
/// | bf16 | bit shuffle + LZ4 | best measured ratio (1.28; byte shuffle 1.15) |
/// | int8 | raw | no filter gets LZ4 to save 1/16 on real quantized pages (measured ratio 1.000) |
public struct PageCodecPolicy: Sendable, Hashable {
    private var table: [KVStorageType: PageEncoding]

    /// The default table above.
    public static let `default` = PageCodecPolicy(table: [
        .f32: PageEncoding(filter: .byteShuffle, compression: .lz4),
        .f16: .raw,
        .bf16: PageEncoding(filter: .bitShuffle, compression: .lz4),
        .int8: .raw,
    ])

    private init(table: [KVStorageType: PageEncoding]) {
        self.table = table
    }

    /// The encoding for `storage`.
    public func encoding(for storage: KVStorageType) -> PageEncoding {
        table[storage] ?? .raw
    }

    /// This policy with `encoding` used for `storage`.
    public func with(_ encoding: PageEncoding, for storage: KVStorageType) -> PageCodecPolicy {
        var copy = self
        copy.table[storage] = encoding
        return copy
    }
}

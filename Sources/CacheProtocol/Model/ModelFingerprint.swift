/// SHA-256 of a `ModelSpec`'s canonical encoding: equal for equal specs on every machine, and
/// different whenever any field or the name differs. Part of every `PrefixKey`.
///
/// Bytes hashed, in order:
/// - the 16 ASCII bytes `mfa.modelspec.v1`;
/// - `ModelSpec.encode(into:)`: name length (u32 LE) and UTF-8 name, layers, query heads, KV heads,
///   head dim (each u32 LE), KV storage code (u8: f32 0, f16 1, bf16 2, int8 3), page size (u32 LE).
public struct ModelFingerprint: DigestValue {
    /// The 32 digest bytes.
    public let digest: Digest32

    /// Wraps 32 bytes.
    public init(digest: Digest32) {
        self.digest = digest
    }

    /// The domain-separation tag hashed first.
    static let domainTag = Array("mfa.modelspec.v1".utf8)
}

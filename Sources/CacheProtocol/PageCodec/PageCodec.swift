/// Encodes KV pages for storage and transfer and decodes them back, verified.
///
/// Encoding: the page's raw bytes are checksummed (XXH3-64), filtered (`PageFilter`), compressed
/// with LZ4 and written after a 40-byte `PageHeader`. A requested LZ4 compression is kept only when
/// it saves at least `1 / minimumSavingDivisor` of the raw bytes; otherwise the page is stored raw
/// and unfiltered, so an encoded page is never longer than raw + header.
///
/// Decoding checks every header field and length before use, decompresses with
/// `LZ4_decompress_safe` into exactly the raw length, unfilters, and checks the checksum: any
/// mismatch is a `PageCodecError`, never data.
public struct PageCodec: Sendable {
    /// Compression must save at least `rawLength / minimumSavingDivisor` bytes (6.25%) to be kept.
    public static let minimumSavingDivisor = 16

    /// The encoding used when a call names none.
    public var policy: PageCodecPolicy

    /// A codec with `policy`.
    public init(policy: PageCodecPolicy = .default) {
        self.policy = policy
    }

    /// The encoded page: header and payload. `encoding` overrides the policy for this call.
    public func encode(_ page: RawPage, encoding: PageEncoding? = nil) -> [UInt8] {
        let layout = page.layout
        let requested = encoding ?? policy.encoding(for: layout.storage)
        let rawLength = layout.rawByteCount
        return page.bytes.withUnsafeBytes { raw in
            let checksum = PageChecksum.of(raw)
            let source = raw.baseAddress.unsafelyUnwrapped
            return withUnsafeTemporaryAllocation(byteCount: 2 * rawLength, alignment: 64) { scratch in
                let filtered = scratch.baseAddress.unsafelyUnwrapped
                let spare = filtered + rawLength
                let input: UnsafeRawPointer
                if requested.filter == .none {
                    input = source
                } else {
                    Self.filter(requested.filter, layout, source, into: filtered, scratch: spare)
                    input = UnsafeRawPointer(filtered)
                }
                var header = PageHeader(
                    layout: layout,
                    filter: requested.filter,
                    compression: requested.compression,
                    payloadLength: rawLength,
                    checksum: checksum
                )
                var payload = UnsafeRawBufferPointer(start: input, count: rawLength)
                if requested.compression == .lz4 {
                    let capacity = rawLength - max(1, rawLength / Self.minimumSavingDivisor)
                    if capacity > 0,
                        let produced = LZ4Block.compress(input, count: rawLength, into: spare, capacity: capacity)
                    {
                        header.payloadLength = produced
                        payload = UnsafeRawBufferPointer(start: spare, count: produced)
                    } else {
                        header = PageHeader(
                            layout: layout,
                            filter: .none,
                            compression: .raw,
                            payloadLength: rawLength,
                            checksum: checksum
                        )
                        payload = UnsafeRawBufferPointer(raw)
                    }
                }
                return [UInt8](unsafeUninitializedCapacity: PageHeader.byteCount + payload.count) { out, count in
                    let base = UnsafeMutableRawPointer(out.baseAddress.unsafelyUnwrapped)
                    header.write(to: base)
                    (base + PageHeader.byteCount).copyMemory(
                        from: payload.baseAddress.unsafelyUnwrapped,
                        byteCount: payload.count
                    )
                    count = PageHeader.byteCount + payload.count
                }
            }
        }
    }

    /// The page encoded in `encoded`, after every check passed.
    public func decode(_ encoded: [UInt8]) throws(PageCodecError) -> RawPage {
        let result: Result<RawPage, PageCodecError> = encoded.withUnsafeBytes { bytes in
            do throws(PageCodecError) {
                return .success(try Self.decode(bytes))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    private static func decode(_ bytes: UnsafeRawBufferPointer) throws(PageCodecError) -> RawPage {
        let header = try PageHeader(parsing: bytes)
        let layout = header.layout
        let rawLength = layout.rawByteCount
        let payload = bytes.baseAddress.unsafelyUnwrapped + PageHeader.byteCount
        var produced = rawLength
        let raw = [UInt8](unsafeUninitializedCapacity: rawLength) { out, count in
            let target = UnsafeMutableRawPointer(out.baseAddress.unsafelyUnwrapped)
            count = rawLength
            switch (header.compression, header.filter) {
            case (.raw, .none):
                target.copyMemory(from: payload, byteCount: rawLength)
            case (.raw, let filter):
                unfilter(filter, layout, payload, into: target)
            case (.lz4, .none):
                produced = LZ4Block.decompress(payload, count: header.payloadLength, into: target, capacity: rawLength)
            case (.lz4, let filter):
                withUnsafeTemporaryAllocation(byteCount: rawLength, alignment: 64) { scratch in
                    let inflated = scratch.baseAddress.unsafelyUnwrapped
                    produced = LZ4Block.decompress(
                        payload,
                        count: header.payloadLength,
                        into: inflated,
                        capacity: rawLength
                    )
                    if produced == rawLength {
                        unfilter(filter, layout, inflated, into: target)
                    }
                }
            }
            if produced != rawLength {
                target.initializeMemory(as: UInt8.self, repeating: 0, count: rawLength)
            }
        }
        guard produced == rawLength else {
            throw .decompressionFailed(produced: max(produced, 0), expected: rawLength)
        }
        let actual = raw.withUnsafeBytes { PageChecksum.of($0) }
        guard actual == header.checksum else {
            throw .checksumMismatch(expected: header.checksum, actual: actual)
        }
        return try RawPage(layout: layout, bytes: raw)
    }

    /// The sections a filter treats separately: (byte offset, element count, element size).
    private static func sections(_ layout: PageLayout) -> [(offset: Int, count: Int, size: Int)] {
        var result = [(0, layout.elementCount, layout.storage.bytesPerElement)]
        if layout.scaleByteCount > 0 { result.append((layout.elementByteCount, layout.rowCount, 4)) }
        return result
    }

    /// Applies `filter` to the raw page at `src`, writing `dst`; `scratch` holds a raw length.
    private static func filter(
        _ filter: PageFilter,
        _ layout: PageLayout,
        _ src: UnsafeRawPointer,
        into dst: UnsafeMutableRawPointer,
        scratch: UnsafeMutableRawPointer
    ) {
        for (offset, n, s) in sections(layout) {
            switch filter {
            case .none:
                (dst + offset).copyMemory(from: src + offset, byteCount: n * s)
            case .byteShuffle:
                ByteShuffle.shuffle(src + offset, into: dst + offset, count: n, elementSize: s)
            case .bitShuffle:
                let planes: UnsafeRawPointer
                if s == 1 {
                    planes = src + offset
                } else {
                    ByteShuffle.shuffle(src + offset, into: scratch + offset, count: n, elementSize: s)
                    planes = UnsafeRawPointer(scratch + offset)
                }
                for j in 0..<s { BitShuffle.split(planes + j * n, into: dst + offset + j * n, count: n) }
            }
        }
    }

    /// Inverse of `filter`: reads the filtered page at `src`, writes the raw page to `dst`.
    private static func unfilter(
        _ filter: PageFilter,
        _ layout: PageLayout,
        _ src: UnsafeRawPointer,
        into dst: UnsafeMutableRawPointer
    ) {
        for (offset, n, s) in sections(layout) {
            switch filter {
            case .none:
                (dst + offset).copyMemory(from: src + offset, byteCount: n * s)
            case .byteShuffle:
                ByteShuffle.unshuffle(src + offset, into: dst + offset, count: n, elementSize: s)
            case .bitShuffle:
                BitShuffle.join(src + offset, into: dst + offset, count: n, elementSize: s)
            }
        }
    }
}

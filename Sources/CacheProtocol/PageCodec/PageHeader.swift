/// The 40-byte header in front of every encoded page. All integers are little-endian.
///
/// | offset | size | field |
/// | --- | --- | --- |
/// | 0 | 4 | magic `MFAP` (`4D 46 41 50`) |
/// | 4 | 1 | format version, 1 |
/// | 5 | 1 | storage type: f32 0, f16 1, bf16 2, int8 3 |
/// | 6 | 1 | filter: none 0, byte shuffle 1, bit shuffle 2 |
/// | 7 | 1 | compression: raw 0, lz4 1 |
/// | 8 | 4×4 | layers, page size, KV heads, head dim (u32 each) |
/// | 24 | 4 | raw length (u32) |
/// | 28 | 4 | payload length (u32), the bytes after the header |
/// | 32 | 8 | XXH3-64 (seed 0) of the raw bytes |
struct PageHeader: Equatable {
    static let byteCount = 40
    static let magic: [UInt8] = [0x4D, 0x46, 0x41, 0x50]
    static let version: UInt8 = 1

    var layout: PageLayout
    var filter: PageFilter
    var compression: PageCompression
    var payloadLength: Int
    var checksum: UInt64

    /// Writes the header to the first `byteCount` bytes at `out`.
    func write(to out: UnsafeMutableRawPointer) {
        for (i, b) in Self.magic.enumerated() { out.storeBytes(of: b, toByteOffset: i, as: UInt8.self) }
        out.storeBytes(of: Self.version, toByteOffset: 4, as: UInt8.self)
        out.storeBytes(of: KVStorageCode.code(of: layout.storage), toByteOffset: 5, as: UInt8.self)
        out.storeBytes(of: filter.rawValue, toByteOffset: 6, as: UInt8.self)
        out.storeBytes(of: compression.rawValue, toByteOffset: 7, as: UInt8.self)
        let words = [
            layout.layers, layout.pageSize, layout.kvHeads, layout.headDim, layout.rawByteCount, payloadLength,
        ]
        for (i, w) in words.enumerated() {
            out.storeBytes(of: UInt32(truncatingIfNeeded: w).littleEndian, toByteOffset: 8 + 4 * i, as: UInt32.self)
        }
        out.storeBytes(of: checksum.littleEndian, toByteOffset: 32, as: UInt64.self)
    }

    /// Reads and checks the header of the encoded page `bytes`: every field is known, the raw length
    /// matches the layout, and the payload length matches the bytes present and the compression.
    init(parsing bytes: UnsafeRawBufferPointer) throws(PageCodecError) {
        guard bytes.count >= Self.byteCount else {
            throw .truncated(needed: Self.byteCount, available: bytes.count)
        }
        let head = Array(bytes[0..<4])
        guard head == Self.magic else { throw .badMagic(head) }
        guard bytes[4] == Self.version else { throw .unsupportedVersion(bytes[4]) }
        guard let storage = KVStorageCode.storage(of: bytes[5]) else { throw .unknownStorageType(bytes[5]) }
        guard let filter = PageFilter(rawValue: bytes[6]) else { throw .unknownFilter(bytes[6]) }
        guard let compression = PageCompression(rawValue: bytes[7]) else { throw .unknownCompression(bytes[7]) }
        func word(_ i: Int) -> Int {
            Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 8 + 4 * i, as: UInt32.self)))
        }
        let layout = try PageLayout(
            layers: word(0),
            pageSize: word(1),
            kvHeads: word(2),
            headDim: word(3),
            storage: storage
        )
        guard word(4) == layout.rawByteCount else {
            throw .rawLengthMismatch(declared: word(4), expected: layout.rawByteCount)
        }
        let payloadLength = word(5)
        let present = bytes.count - Self.byteCount
        guard payloadLength == present else {
            throw .encodedLengthMismatch(declared: payloadLength, actual: present)
        }
        let fits =
            switch compression {
            case .raw: payloadLength == layout.rawByteCount
            case .lz4:
                payloadLength > 0 && payloadLength < layout.rawByteCount
                    && layout.rawByteCount <= payloadLength * LZ4Block.maximumRatio
            }
        guard fits else {
            throw .impossiblePayloadLength(
                declared: payloadLength,
                rawLength: layout.rawByteCount,
                compression: compression
            )
        }
        self.layout = layout
        self.filter = filter
        self.compression = compression
        self.payloadLength = payloadLength
        self.checksum = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 32, as: UInt64.self))
    }

    init(layout: PageLayout, filter: PageFilter, compression: PageCompression, payloadLength: Int, checksum: UInt64) {
        self.layout = layout
        self.filter = filter
        self.compression = compression
        self.payloadLength = payloadLength
        self.checksum = checksum
    }
}

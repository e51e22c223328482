/// A KV page as it travels: its prefix key and its bytes in the KV page encoding, opaque to the
/// message codec (the page codec checks them). Lists of pages put the count (u32) and the keys in
/// frame 0 and each page's bytes in its own bulk frame, in key order.
public struct EncodedPage: Sendable, Hashable {
    /// The page's prefix key.
    public var key: PrefixKey
    /// The encoded page.
    public var bytes: [UInt8]

    /// A page.
    public init(key: PrefixKey, bytes: [UInt8]) {
        self.key = key
        self.bytes = bytes
    }

    /// Writes the count and keys of `pages` to `body` and their bytes to `bulk`.
    static func encode(_ pages: [EncodedPage], body: inout WireWriter, bulk: inout [[UInt8]]) {
        body.write(pages.map(\.key))
        bulk.append(contentsOf: pages.map(\.bytes))
    }

    /// Reads at most `WireLimits.maxPagesPerRequest` pages as written by `encode`.
    static func decode(body: inout WireReader, bulk: inout BulkFrameReader) throws(WireError) -> [EncodedPage] {
        let keys: [PrefixKey] = try body.readDigestArray("pages", limit: WireLimits.maxPagesPerRequest)
        var pages = [EncodedPage]()
        pages.reserveCapacity(keys.count)
        for key in keys { pages.append(EncodedPage(key: key, bytes: try bulk.next())) }
        return pages
    }
}

/// A page's token ids read as 64-bit words, two tokens a word: word `j` is token `2j` in its low
/// half and token `2j + 1` in its high half (0 past the page's last token, when the page size is
/// odd). `PrefixKeyCache` stores, hashes and compares a page's tokens in this form.
enum PageTokenWords {
    /// Words of a page of `pageSize` tokens.
    @inline(__always)
    static func count(pageSize: Int) -> Int { (pageSize + 1) / 2 }

    /// Word `index` of the page of `pageSize` tokens starting at `tokens`.
    @inline(__always)
    static func word(_ tokens: UnsafePointer<UInt32>, pageSize: Int, index: Int) -> UInt64 {
        let first = 2 * index
        if first + 1 < pageSize {
            return UInt64(littleEndian: UnsafeRawPointer(tokens + first).loadUnaligned(as: UInt64.self))
        }
        return UInt64(tokens[first])
    }
}

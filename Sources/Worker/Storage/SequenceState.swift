/// One live sequence's block table: the page holding each run of `pageSize` tokens, and how many
/// tokens each layer has written (layers are appended one at a time, so they may briefly differ).
public struct SequenceState: Sendable, Hashable {
    /// The sequence's id.
    public let id: SequenceID
    /// Page ids: token `t` lives in `pages[t / pageSize]` at slot `t % pageSize`.
    public internal(set) var pages: [Int]
    /// Tokens written in each layer; attention at layer `l` reads the first `layerLengths[l]` tokens.
    public internal(set) var layerLengths: [Int]
    /// Leading tokens that came from the prefix cache when the sequence was opened.
    public let cachedTokens: Int

    /// A sequence of `cachedTokens` tokens in every one of `layers` layers, held in `pages`.
    init(id: SequenceID, pages: [Int], layers: Int, cachedTokens: Int) {
        self.id = id
        self.pages = pages
        self.layerLengths = [Int](repeating: cachedTokens, count: layers)
        self.cachedTokens = cachedTokens
    }

    /// Tokens written in every layer: the length the sequence can be committed or truncated at.
    public var length: Int { layerLengths.min() ?? 0 }
}

/// One request of a trace in the Mooncake FAST'25 JSONL format: when it arrives, how long its
/// prompt and output are, and the prompt as ids of 512-token blocks (equal ids at equal positions
/// are equal tokens, so requests whose id lists share a start share that prefix).
public struct TraceRecord: Sendable, Hashable {
    /// Tokens per block of `hashIDs` in the original trace.
    public static let traceBlockTokens = 512

    /// Arrival time in milliseconds from the start of the trace.
    public var timestampMilliseconds: Double
    /// Prompt tokens.
    public var inputLength: Int
    /// Generated tokens.
    public var outputLength: Int
    /// One id per block of the prompt, in order.
    public var hashIDs: [UInt64]

    /// A record; `TraceReader` checks records it parses (lengths positive, one id per block).
    public init(timestampMilliseconds: Double, inputLength: Int, outputLength: Int, hashIDs: [UInt64]) {
        self.timestampMilliseconds = timestampMilliseconds
        self.inputLength = inputLength
        self.outputLength = outputLength
        self.hashIDs = hashIDs
    }
}

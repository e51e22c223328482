/// The result of attention over one worker's part of the keys, for merging across shards:
/// `output` f32 `[rows, Hq, D]` and the log-sum-exp of each row's scores `lse` f32 `[rows, Hq]`,
/// each in its own bulk frame (output first).
public struct AttentionOutput: Sendable, Hashable {
    /// Attention output, f32 `[rows, Hq, D]`.
    public let output: WireTensor
    /// Natural-log sum of exponentiated scores per row and head, f32 `[rows, Hq]`.
    public let lse: WireTensor

    /// Checks that both are f32, `output` is rank 3, `lse` is rank 2, and their rows and heads agree.
    public init(output: WireTensor, lse: WireTensor) throws(WireError) {
        guard output.elementType == .f32, lse.elementType == .f32 else {
            throw .inconsistent("attention output and lse must be f32")
        }
        guard output.shape.count == 3, lse.shape.count == 2, Array(output.shape.prefix(2)) == lse.shape else {
            throw .inconsistent("output \(output.shape) must be [rows, Hq, D] and lse \(lse.shape) [rows, Hq]")
        }
        self.output = output
        self.lse = lse
    }

    /// Rows (query tokens).
    public var rows: Int { output.shape[0] }

    /// Writes both descriptors to `body` and both tensors to `bulk`.
    public func encode(body: inout WireWriter, bulk: inout [[UInt8]]) {
        output.encode(body: &body, bulk: &bulk)
        lse.encode(body: &body, bulk: &bulk)
    }

    /// Reads what `encode` writes and checks it like `init(output:lse:)`.
    public init(body: inout WireReader, bulk: inout BulkFrameReader) throws(WireError) {
        let output = try WireTensor(body: &body, bulk: &bulk)
        let lse = try WireTensor(body: &body, bulk: &bulk)
        try self.init(output: output, lse: lse)
    }
}

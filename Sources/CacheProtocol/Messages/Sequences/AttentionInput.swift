/// The tensors of a prefill or decode request, each in its own bulk frame: queries `q` of shape
/// `[rows, Hq, D]`, and the new keys and values `k`, `v` of shape `[rows, Hkv, D]` that the
/// receiver appends to the sequence before attending. `k` and `v` are absent when the receiver
/// holds a shard that does not take new tokens (a decode sent to a non-tail shard).
///
/// Wire: q's descriptor, a u8 flag (1: k and v follow), k's and v's descriptors; bulk frames
/// q, then k and v when present.
public struct AttentionInput: Sendable, Hashable {
    /// Queries, `[rows, Hq, D]`.
    public let q: WireTensor
    /// New keys, `[rows, Hkv, D]`, or `nil`.
    public let k: WireTensor?
    /// New values, same shape as `k`, or `nil`.
    public let v: WireTensor?

    /// Checks the shapes: every tensor of rank 3, `k` and `v` both present or both absent, of equal
    /// shape, with `q`'s rows and head dim, and at most `WireLimits.maxTokensPerRequest` rows.
    public init(q: WireTensor, k: WireTensor?, v: WireTensor?) throws(WireError) {
        guard q.shape.count == 3 else { throw .inconsistent("q has shape \(q.shape), expected [rows, Hq, D]") }
        guard q.shape[0] <= WireLimits.maxTokensPerRequest else {
            throw .limitExceeded(
                field: "query rows",
                value: UInt64(q.shape[0]),
                limit: UInt64(WireLimits.maxTokensPerRequest)
            )
        }
        switch (k, v) {
        case (nil, nil):
            break
        case (let k?, let v?):
            guard k.shape.count == 3, k.shape == v.shape, k.shape[0] == q.shape[0], k.shape[2] == q.shape[2] else {
                throw .inconsistent("k \(k.shape) and v \(v.shape) must both be [\(q.shape[0]), Hkv, \(q.shape[2])]")
            }
        default:
            throw .inconsistent("k and v must be both present or both absent")
        }
        self.q = q
        self.k = k
        self.v = v
    }

    /// Query rows (tokens).
    public var rows: Int { q.shape[0] }

    /// Writes descriptors to `body` and tensors to `bulk`.
    public func encode(body: inout WireWriter, bulk: inout [[UInt8]]) {
        q.encode(body: &body, bulk: &bulk)
        if let k, let v {
            body.write(true)
            k.encode(body: &body, bulk: &bulk)
            v.encode(body: &body, bulk: &bulk)
        } else {
            body.write(false)
        }
    }

    /// Reads what `encode` writes and checks it like `init(q:k:v:)`.
    public init(body: inout WireReader, bulk: inout BulkFrameReader) throws(WireError) {
        let q = try WireTensor(body: &body, bulk: &bulk)
        if try body.readBool("has k and v") {
            let k = try WireTensor(body: &body, bulk: &bulk)
            let v = try WireTensor(body: &body, bulk: &bulk)
            try self.init(q: q, k: k, v: v)
        } else {
            try self.init(q: q, k: nil, v: nil)
        }
    }
}

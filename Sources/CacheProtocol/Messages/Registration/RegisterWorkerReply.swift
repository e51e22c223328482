/// Coordinator → worker, answer to `RegisterWorker`.
///
/// Body: u8 outcome (0 accepted, 1 refused); accepted: the coordinator's model spec in its
/// canonical encoding (`ModelSpec.encode(into:)`); refused: the reason (string).
public struct RegisterWorkerReply: WireBody {
    /// Whether the worker may join.
    public enum Outcome: Sendable, Hashable {
        /// The worker joined; the cluster serves this model.
        case accepted(ModelSpec)
        /// The worker may not join, and why (for example a model fingerprint mismatch).
        case refused(reason: String)
    }

    /// The coordinator's decision.
    public var outcome: Outcome

    /// An answer.
    public init(outcome: Outcome) {
        self.outcome = outcome
    }

    /// Writes the body fields in the order documented above.
    public func encode(body: inout WireWriter, bulk: inout [[UInt8]]) {
        switch outcome {
        case .accepted(let spec):
            body.write(UInt8(0))
            spec.encode(into: &body)
        case .refused(let reason):
            body.write(UInt8(1))
            body.write(reason)
        }
    }

    /// Reads the body fields in the order documented above, checking each before reading it.
    public init(body: inout WireReader, bulk: inout BulkFrameReader) throws(WireError) {
        switch try body.readUInt8("outcome") {
        case 0: outcome = .accepted(try ModelSpec(reading: &body))
        case 1: outcome = .refused(reason: try body.readString("reason", maxBytes: WireLimits.maxMessageTextBytes))
        case let code: throw .invalidValue(field: "outcome", value: UInt64(code))
        }
    }
}

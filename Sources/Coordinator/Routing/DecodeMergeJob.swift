import CacheProtocol
import Kernels

/// A decode batch whose parts have all answered, ready to be merged into the client's answer.
/// The state machine hands it out (`CoordinatorDirective.mergeDecode`) and never merges itself;
/// the shell calls `reply()` (kernel arithmetic, possibly off the state machine's thread) and sends
/// the result to `client`.
public struct DecodeMergeJob: Sendable, Hashable {
    /// The client to answer.
    public var client: RoutingIdentity
    /// The client's request id.
    public var requestID: UInt64
    /// How the parts fit together.
    public var plan: DecodeMergePlan
    /// Each part's answer, in part order.
    public var parts: [AttentionOutput]
    /// The sequence whose `Prefill` the batch carries: the answer is then a `PrefillReply` for it.
    public var prefillOf: UInt64?

    /// A job; with `prefillOf`, the answer is that sequence's `PrefillReply`.
    public init(
        client: RoutingIdentity,
        requestID: UInt64,
        plan: DecodeMergePlan,
        parts: [AttentionOutput],
        prefillOf: UInt64? = nil
    ) {
        self.client = client
        self.requestID = requestID
        self.plan = plan
        self.parts = parts
        self.prefillOf = prefillOf
    }

    /// The client's answer: a `DecodeReply` with one row per query token in the client's entry
    /// order, where each row is the exact merge (`AttentionMerge`: `lse = log Σ exp(lseᵢ)`,
    /// `out = Σ exp(lseᵢ − lse)·outᵢ`, per head) of that row over its sequence's shards (the same
    /// rows as a `PrefillReply` when the batch carries a prefill). An `ErrorReply` (`internal`)
    /// when the parts do not fit the plan.
    public func reply() -> Envelope {
        do throws(DecodeMergeError) {
            let merged = try merged()
            if let prefillOf {
                return Envelope(
                    requestID: requestID,
                    message: .prefillReply(
                        PrefillReply(sequenceID: prefillOf, layer: merged.layer, result: merged.result)
                    )
                )
            }
            return Envelope(requestID: requestID, message: .decodeReply(merged))
        } catch {
            return Envelope(
                requestID: requestID,
                message: .errorReply(ErrorReply(code: .internal, message: error.description))
            )
        }
    }

    /// The merged answer; throws when the parts do not fit the plan.
    public func merged() throws(DecodeMergeError) -> DecodeReply {
        guard parts.count == plan.partRows.count, let first = parts.first else {
            throw .partCount(expected: plan.partRows.count, actual: parts.count)
        }
        let heads = first.output.shape[1]
        let headDim = first.output.shape[2]
        var outputs: [[Float]] = []
        var sums: [[Float]] = []
        for (index, part) in parts.enumerated() {
            guard part.rows == plan.partRows[index], part.output.shape[1] == heads, part.output.shape[2] == headDim
            else {
                throw .partShape(part: index, shape: part.output.shape, expectedRows: plan.partRows[index])
            }
            do {
                outputs.append(try part.output.f32Values())
                sums.append(try part.lse.f32Values())
            } catch {
                throw .partShape(part: index, shape: part.output.shape, expectedRows: plan.partRows[index])
            }
        }
        let width = heads * headDim
        let rows = plan.rows
        var output = [Float](repeating: 0, count: rows * width)
        var lse = [Float](repeating: 0, count: rows * heads)
        var row = 0
        for entry in plan.entries {
            if entry.sources.count == 1 {
                let source = entry.sources[0]
                let from = source.firstRow
                output.replaceSubrange(
                    (row * width)..<((row + entry.rows) * width),
                    with: outputs[source.part][(from * width)..<((from + entry.rows) * width)]
                )
                lse.replaceSubrange(
                    (row * heads)..<((row + entry.rows) * heads),
                    with: sums[source.part][(from * heads)..<((from + entry.rows) * heads)]
                )
            } else {
                let partials = entry.sources.map { source in
                    let from = source.firstRow
                    return AttentionResult(
                        output: Array(outputs[source.part][(from * width)..<((from + entry.rows) * width)]),
                        logSumExp: Array(sums[source.part][(from * heads)..<((from + entry.rows) * heads)])
                    )
                }
                let merged: AttentionResult
                do {
                    merged = try AttentionMerge.merge(partials, headDim: headDim)
                } catch {
                    throw .merge(error.description)
                }
                output.replaceSubrange((row * width)..<((row + entry.rows) * width), with: merged.output)
                lse.replaceSubrange((row * heads)..<((row + entry.rows) * heads), with: merged.logSumExp)
            }
            row += entry.rows
        }
        do {
            let result = try AttentionOutput(
                output: try WireTensor(f32: output, shape: [rows, heads, headDim]),
                lse: try WireTensor(f32: lse, shape: [rows, heads])
            )
            return DecodeReply(layer: plan.layer, result: result)
        } catch {
            throw .merge(error.description)
        }
    }
}

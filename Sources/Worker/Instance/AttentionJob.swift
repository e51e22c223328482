import CacheProtocol
import Kernels

/// The attention a prefill or decode request needs, made by the instance after it has appended the
/// request's keys and values, and run by the shell on the kernels' threads: the calls to make, and
/// how to turn their results into the request's answer (`message(from:)`, which
/// `WorkerInstance.attentionFinished(_:_:)` uses). Making the answer is pure; only the calls touch
/// the kernels.
struct AttentionJob: Sendable, Equatable {
    /// Which answer the results make.
    enum Answer: Sendable, Equatable {
        /// A `PrefillReply` for the sequence and layer.
        case prefill(sequenceID: UInt64, layer: UInt32)
        /// A `DecodeReply` for the layer.
        case decode(layer: UInt32)

        /// The type of the request answered.
        var requestType: MessageType {
            switch self {
            case .prefill: .prefill
            case .decode: .decode
            }
        }
    }

    /// The id of the request answered.
    let requestID: UInt64
    /// Which answer the results make.
    let answer: Answer
    /// Query rows of the answer: the request's query tokens.
    let rows: Int
    /// Query heads of the model.
    let queryHeads: Int
    /// Elements per head.
    let headDim: Int
    /// The kernel calls, each writing its own rows of the answer.
    let calls: [AttentionCall]
    /// What leads a refusal's message (`prefill of sequence 3: …`); nil for none.
    let refusalSubject: String?

    /// The answer made of `results` (one per call, in call order): each call's rows placed where its
    /// batch entries' rows lie in the request. Throws `.internal` when the results do not have the
    /// calls' shapes.
    func message(from results: [AttentionResult]) throws(ServiceError) -> Message {
        let width = queryHeads * headDim
        guard results.count == calls.count else {
            throw .internal("attention: \(results.count) results for \(calls.count) calls")
        }
        var output: [Float]
        var lse: [Float]
        if calls.count == 1, calls[0].firstRows == [0], results[0].output.count == rows * width {
            output = results[0].output
            lse = results[0].logSumExp
        } else {
            output = [Float](repeating: 0, count: rows * width)
            lse = [Float](repeating: 0, count: rows * queryHeads)
            for (call, result) in zip(calls, results) {
                let n = call.queryLength
                guard result.output.count == call.firstRows.count * n * width,
                    result.logSumExp.count == call.firstRows.count * n * queryHeads
                else {
                    throw .internal("attention: a result does not have its call's shape")
                }
                for (slot, first) in call.firstRows.enumerated() {
                    guard first >= 0, first + n <= rows else {
                        throw .internal("attention: row \(first) is outside the answer")
                    }
                    let source = slot * n
                    output.replaceSubrange(
                        first * width..<(first + n) * width,
                        with: result.output[source * width..<(source + n) * width]
                    )
                    lse.replaceSubrange(
                        first * queryHeads..<(first + n) * queryHeads,
                        with: result.logSumExp[source * queryHeads..<(source + n) * queryHeads]
                    )
                }
            }
        }
        let result: AttentionOutput
        do throws(WireError) {
            result = try AttentionOutput(
                output: WireTensor(f32: output, shape: [rows, queryHeads, headDim]),
                lse: WireTensor(f32: lse, shape: [rows, queryHeads])
            )
        } catch {
            throw led(.internal("attention output: \(error)"))
        }
        switch answer {
        case let .prefill(sequenceID, layer):
            return .prefillReply(PrefillReply(sequenceID: sequenceID, layer: layer, result: result))
        case let .decode(layer):
            return .decodeReply(DecodeReply(layer: layer, result: result))
        }
    }

    /// The refusal for the kernel's refusal of call `index`: one about a batch entry names that
    /// entry's sequence id, one about the whole call names them all (the first 16 of a longer batch).
    func refusal(call index: Int, _ error: KernelError) -> ServiceError {
        let sequences = calls.indices.contains(index) ? calls[index].sequenceIDs : []
        let refusal: ServiceError
        if let entry = error.sequence, sequences.indices.contains(entry) {
            refusal = .badRequest("sequence \(sequences[entry]): attention: \(error.detail)")
        } else {
            let names =
                sequences.prefix(16).map(String.init).joined(separator: ", ")
                + (sequences.count > 16 ? ", … (\(sequences.count) in all)" : "")
            refusal = .badRequest("attention of sequence\(sequences.count == 1 ? "" : "s") \(names): \(error.detail)")
        }
        return led(refusal)
    }

    /// `refusal` with its message led by `refusalSubject`, when there is one.
    private func led(_ refusal: ServiceError) -> ServiceError {
        refusalSubject.map { refusal.about($0) } ?? refusal
    }
}

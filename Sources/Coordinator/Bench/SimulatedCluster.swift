import CacheProtocol

/// A coordinator instance with workers played in code, for `CoordinatorBenchmark`: registers
/// them, feeds their events, and answers the requests the coordinator sends them.
struct SimulatedCluster: Sendable {
    /// The coordinator.
    var instance: CoordinatorInstance
    /// The instant handed to the instance.
    var now = MonotonicInstant(nanoseconds: 1)
    private var eventNumbers: [Int: UInt64] = [:]
    private var clientRequest: UInt64 = 1 << 40

    /// A cluster around `instance`.
    init(instance: CoordinatorInstance) {
        self.instance = instance
    }

    private static func link(_ worker: Int) -> RoutingIdentity {
        RoutingIdentity([0x57, UInt8(truncatingIfNeeded: worker), UInt8(truncatingIfNeeded: worker >> 8)])
    }

    /// Registers workers 1…`workers` with large pools, answers their snapshot and shard list
    /// requests with empty ones and sends each a heartbeat.
    mutating func register(workers: Int, fingerprint: ModelFingerprint) throws(CoordinatorBenchmarkError) {
        for worker in 1...workers {
            let registration = RegisterWorker(
                workerID: UInt64(worker),
                endpoint: "tcp://10.1.\(worker / 256).\(worker % 256):7100",
                role: .compute,
                hotPageCapacity: 1 << 24,
                storeBytes: 0,
                modelFingerprint: fingerprint
            )
            let directives = instance.handle(
                .received(
                    Envelope(requestID: 1, message: .registerWorker(registration)),
                    from: .workerLink(Self.link(worker))
                ),
                at: now
            )
            let sent = directives.compactMap { directive -> Envelope? in
                if case .sendToWorker(_, let envelope) = directive { envelope } else { nil }
            }
            guard let snapshot = sent.first(where: { $0.message == .snapshotRequest(SnapshotRequest()) }) else {
                throw .unexpected("worker \(worker) was not accepted: \(directives)")
            }
            var answers = [
                Envelope(
                    requestID: snapshot.requestID,
                    message: .snapshotReply(SnapshotReply(workerID: UInt64(worker), eventSequence: 0, keys: []))
                )
            ]
            if let list = sent.first(where: { $0.message == .shardListRequest(ShardListRequest()) }) {
                answers.append(
                    Envelope(
                        requestID: list.requestID,
                        message: .shardListReply(ShardListReply(workerID: UInt64(worker), shards: []))
                    )
                )
            }
            for answer in answers {
                _ = instance.handle(.received(answer, from: .worker(WorkerID(UInt64(worker)))), at: now)
            }
            _ = instance.handle(
                .received(
                    Envelope(
                        requestID: 2,
                        message: .heartbeat(
                            Heartbeat(
                                workerID: UInt64(worker),
                                liveSequences: 0,
                                freePages: 1 << 24,
                                cachedPages: 0,
                                lastEventSequence: 0
                            )
                        )
                    ),
                    from: .workerLink(Self.link(worker))
                ),
                at: now
            )
            eventNumbers[worker] = 0
        }
    }

    /// The next numbered event of `worker`, as an input.
    mutating func eventInput(worker: Int, kind: CacheEvent.Kind, keys: [PrefixKey]) -> CoordinatorInput {
        let number = eventNumbers[worker, default: 0] + 1
        eventNumbers[worker] = number
        return .received(
            Envelope(
                requestID: 0,
                message: .cacheEvent(
                    CacheEvent(workerID: UInt64(worker), eventSequence: number, kind: kind, keys: keys)
                )
            ),
            from: .workerLink(Self.link(worker))
        )
    }

    /// Sends `worker`'s next event.
    mutating func event(worker: Int, kind: CacheEvent.Kind, keys: [PrefixKey]) {
        _ = instance.handle(eventInput(worker: worker, kind: kind, keys: keys), at: now)
    }

    /// Plays the workers and the client for opens whose first directives are `outputs`: answers
    /// pulls and opens, then closes every opened sequence. Returns how many opens pulled first.
    mutating func completeOpens(_ outputs: [[CoordinatorDirective]]) throws(CoordinatorBenchmarkError) -> Int {
        var pulls = 0
        for first in outputs {
            var directives = first
            var opened: UInt64?
            for _ in 0..<4 {
                guard
                    let (worker, envelope) = directives.lazy.compactMap({ directive -> (WorkerID, Envelope)? in
                        if case .sendToWorker(let worker, let envelope) = directive { (worker, envelope) } else { nil }
                    }).first
                else { break }
                let answer: Message
                switch envelope.message {
                case .pullPages(let pull):
                    pulls += 1
                    answer = .pullPagesReply(PullPagesReply(pulled: pull.keys.map { _ in true }))
                case .openSequence(let open):
                    answer = .openSequenceReply(OpenSequenceReply(sequenceID: open.sequenceID, cachedTokens: 0))
                    opened = open.sequenceID
                case .closeSequence:
                    answer = .ack(Ack())
                default:
                    throw .unexpected("a worker was sent \(envelope.message.type) during an open")
                }
                directives = instance.handle(
                    .received(Envelope(requestID: envelope.requestID, message: answer), from: .worker(worker)),
                    at: now
                )
                if opened != nil { break }
            }
            guard let sequence = opened else { throw .unexpected("an open was not placed: \(first)") }
            clientRequest += 1
            let close = instance.handle(
                .received(
                    Envelope(
                        requestID: clientRequest,
                        message: .closeSequence(CloseSequence(sequenceID: sequence, commit: false))
                    ),
                    from: .client(RoutingIdentity([0xBE]))
                ),
                at: now
            )
            for directive in close {
                if case .sendToWorker(let worker, let envelope) = directive {
                    _ = instance.handle(
                        .received(Envelope(requestID: envelope.requestID, message: .ack(Ack())), from: .worker(worker)),
                        at: now
                    )
                }
            }
        }
        return pulls
    }
}

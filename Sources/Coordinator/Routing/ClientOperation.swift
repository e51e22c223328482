/// A client request the coordinator is working on: who to answer, by when, what it waits for.
struct ClientOperation: Sendable {
    /// The coordinator's id for it.
    let id: UInt64
    /// The client to answer.
    let client: RoutingIdentity
    /// The client's request id, carried by the answer.
    let requestID: UInt64
    /// When it is answered `unavailable` if nothing else answered it.
    let deadline: MonotonicInstant
    /// Its state.
    var work: OperationWork
    /// Ids of its requests to workers still awaited.
    var outstanding: [UInt64] = []
}

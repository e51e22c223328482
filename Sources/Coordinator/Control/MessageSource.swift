/// Where a message reached the coordinator: which of its three kinds of connection, and which peer.
public enum MessageSource: Sendable, Hashable {
    /// The client ROUTER (model processes and operator tools), from the peer with this identity;
    /// answers go back to it with `CoordinatorDirective.answerClient`.
    case client(RoutingIdentity)
    /// The worker-registration ROUTER, from the worker link with this identity; answers go back
    /// with `CoordinatorDirective.answerWorkerLink`.
    case workerLink(RoutingIdentity)
    /// The coordinator's own DEALER towards this worker: a reply to a request the coordinator sent
    /// it, matched by request id.
    case worker(WorkerID)
}

import CacheProtocol

/// One thing the shell must do, in the order the directives come.
public enum CoordinatorDirective: Sendable, Hashable {
    /// Send `Envelope` to the client with this routing identity, on the client ROUTER.
    case answerClient(RoutingIdentity, Envelope)
    /// Send `Envelope` to the worker link with this routing identity, on the registration ROUTER.
    case answerWorkerLink(RoutingIdentity, Envelope)
    /// Send `Envelope` to the worker on the coordinator's DEALER towards it. Its request id is the
    /// coordinator's and unique among the requests outstanding on that connection; if it cannot
    /// be sent, report `CoordinatorInput.sendFailed`.
    case sendToWorker(WorkerID, Envelope)
    /// Open a DEALER to the worker's endpoint (replacing any open one); comes before any
    /// `sendToWorker` for it.
    case connectWorker(WorkerID, endpoint: String)
    /// Close the DEALER to the worker, dropping whatever is queued (linger 0): the coordinator has
    /// answered everything in flight on it.
    case disconnectWorker(WorkerID)
    /// Merge the parts of a decode batch (`DecodeMergeJob.reply()`, kernel arithmetic) and send
    /// the result to `job.client` on the client ROUTER.
    case mergeDecode(DecodeMergeJob)
    /// Something an operator may want in the log.
    case notice(CoordinatorNotice)
}

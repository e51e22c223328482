import CacheProtocol

/// The coordinator's DEALER towards each worker it has connected: the only per-worker state the
/// shell keeps. A value owned by the one task that performs directives.
struct WorkerDealers {
    private var dealers: [WorkerID: ZMQEndpoint] = [:]

    /// The DEALER to `worker`; nil when it is not connected.
    subscript(worker: WorkerID) -> ZMQEndpoint? { dealers[worker] }

    /// Keeps `dealer` as the connection to `worker` and returns the one it replaces, if any.
    mutating func replace(_ worker: WorkerID, with dealer: ZMQEndpoint) -> ZMQEndpoint? {
        dealers.updateValue(dealer, forKey: worker)
    }

    /// Forgets the connection to `worker` and returns it, if there was one.
    mutating func remove(_ worker: WorkerID) -> ZMQEndpoint? {
        dealers.removeValue(forKey: worker)
    }

    /// Forgets every connection and returns them.
    mutating func removeAll() -> [ZMQEndpoint] {
        defer { dealers.removeAll() }
        return Array(dealers.values)
    }
}

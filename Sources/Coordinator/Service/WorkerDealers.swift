import CacheProtocol

/// The coordinator's DEALER towards each worker it has connected, as sockets of its reactor: the
/// only per-worker state the shell keeps. A value owned by the reactor's thread.
struct WorkerDealers: Sendable {
    private var sockets: [WorkerID: ZMQReactor.SocketID] = [:]
    private var workers: [ZMQReactor.SocketID: WorkerID] = [:]

    /// The DEALER to `worker`; nil when it is not connected.
    subscript(worker: WorkerID) -> ZMQReactor.SocketID? { sockets[worker] }

    /// The worker `socket` is the DEALER to; nil for another socket.
    func worker(of socket: ZMQReactor.SocketID) -> WorkerID? { workers[socket] }

    /// Keeps `socket` as the connection to `worker` and returns the one it replaces, if any.
    mutating func replace(_ worker: WorkerID, with socket: ZMQReactor.SocketID) -> ZMQReactor.SocketID? {
        let old = remove(worker)
        sockets[worker] = socket
        workers[socket] = worker
        return old
    }

    /// Forgets the connection to `worker` and returns it, if there was one.
    mutating func remove(_ worker: WorkerID) -> ZMQReactor.SocketID? {
        guard let socket = sockets.removeValue(forKey: worker) else { return nil }
        workers[socket] = nil
        return socket
    }
}

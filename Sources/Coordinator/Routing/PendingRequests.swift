/// The client operations in progress and the requests awaited from workers, each with its
/// deadline. Request ids are one counter for every worker connection, so they are unique on each
/// and an answer from one run of a worker never matches a request of another.
struct PendingRequests: Sendable {
    /// Operations by id.
    private(set) var operations: [UInt64: ClientOperation] = [:]
    /// Worker requests by request id.
    private(set) var requests: [UInt64: WorkerRequest] = [:]
    private var nextRequestID: UInt64 = 1
    private var nextOperationID: UInt64 = 1

    /// Nothing pending.
    init() {}

    /// Starts an operation; returns its id.
    mutating func begin(
        client: RoutingIdentity,
        requestID: UInt64,
        deadline: MonotonicInstant,
        work: OperationWork
    ) -> UInt64 {
        let id = nextOperationID
        nextOperationID &+= 1
        operations[id] = ClientOperation(id: id, client: client, requestID: requestID, deadline: deadline, work: work)
        return id
    }

    /// The operation `id`.
    subscript(operation id: UInt64) -> ClientOperation? {
        get { operations[id] }
        _modify { yield &operations[id] }
    }

    /// Records a request to `worker` and returns its id; an operation's request is added to its
    /// outstanding ones.
    mutating func issue(to worker: WorkerID, purpose: WorkerRequest.Purpose, deadline: MonotonicInstant) -> UInt64 {
        let id = nextRequestID
        nextRequestID &+= 1
        requests[id] = WorkerRequest(id: id, worker: worker, deadline: deadline, purpose: purpose)
        if case .operation(let operation, _) = purpose { operations[operation]?.outstanding.append(id) }
        return id
    }

    /// Takes the request `id` awaited from `worker` (nil when none is: answered, given up, or
    /// from another worker), and removes it from its operation's outstanding ones.
    mutating func take(_ id: UInt64, from worker: WorkerID) -> WorkerRequest? {
        guard let request = requests[id], request.worker == worker else { return nil }
        requests[id] = nil
        if case .operation(let operation, _) = request.purpose,
            let index = operations[operation]?.outstanding.firstIndex(of: id)
        {
            operations[operation]?.outstanding.remove(at: index)
        }
        return request
    }

    /// Ends operation `id`: removes it and gives up its outstanding requests (answers to them will
    /// be late). Returns it.
    mutating func finish(_ id: UInt64) -> ClientOperation? {
        guard let operation = operations.removeValue(forKey: id) else { return nil }
        for request in operation.outstanding { requests[request] = nil }
        return operation
    }

    /// Requests whose deadline is `now` or earlier, oldest id first.
    func overdueRequests(at now: MonotonicInstant) -> [UInt64] {
        requests.values.filter { $0.deadline <= now }.map(\.id).sorted()
    }

    /// Operations whose deadline is `now` or earlier, oldest first.
    func overdueOperations(at now: MonotonicInstant) -> [UInt64] {
        operations.values.filter { $0.deadline <= now }.map(\.id).sorted()
    }

    /// Requests awaited from `worker`, oldest first.
    func requests(to worker: WorkerID) -> [UInt64] {
        requests.values.filter { $0.worker == worker }.map(\.id).sorted()
    }
}

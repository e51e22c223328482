import CacheProtocol

/// One run of a workload against a cluster endpoint (a coordinator's client endpoint, or a single
/// worker: the messages are the same): the driver's measurements, the ideal hit rate of the same
/// prompts, and, from a coordinator, its per-worker figures.
public struct WorkloadRun: Sendable {
    /// The endpoint to drive.
    public var endpoint: String
    /// The cluster's model.
    public var spec: ModelSpec
    /// The requests.
    public var requests: [WorkloadRequest]
    /// The driver's settings (concurrency, checks).
    public var driver: WorkloadDriver
    /// How long one request may wait for its answer.
    public var requestTimeout: Duration

    /// A run of `requests` against `endpoint`.
    public init(
        endpoint: String,
        spec: ModelSpec,
        requests: [WorkloadRequest],
        driver: WorkloadDriver,
        requestTimeout: Duration = .seconds(60)
    ) {
        self.endpoint = endpoint
        self.spec = spec
        self.requests = requests
        self.driver = driver
        self.requestTimeout = requestTimeout
    }

    /// Runs the workload; `progress(done, total)` as requests finish.
    public func run(
        placement: String? = nil,
        progress: @escaping @Sendable (Int, Int) -> Void = { _, _ in }
    ) async throws(ClusterClientError) -> WorkloadReport {
        let context: ZMQContext
        do {
            context = try ZMQContext()
        } catch {
            throw .transport(error)
        }
        let client = try ClusterClient(context: context, endpoint: endpoint, timeout: requestTimeout)
        var ideal = IdealHitRate(pageSize: spec.pageSize)
        for request in requests { ideal.add(request.tokens, namespace: request.namespace) }
        let before = (try? await client.stats()) ?? [:]
        let measurements = await driver.run(requests, client: client, progress: progress)
        var counters = (try? await client.stats()) ?? [:]
        if let interval = counters["cluster.heartbeat_ms"] {
            // Transfer totals come with heartbeats: wait until every worker has sent one after
            // the last request.
            try? await Task.sleep(for: .milliseconds(min(2 * interval + 100, 5000)))
            counters = (try? await client.stats()) ?? counters
        }
        await client.disconnect()
        return WorkloadReport(
            placement: placement,
            measurements: measurements,
            idealHitRate: ideal.rate,
            workers: WorkloadReport.workerCounters(counters),
            moved: WorkloadReport.moved(from: before, to: counters)
        )
    }
}

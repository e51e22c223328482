import CacheProtocol
import Logging

/// What `mfa-coordinator serve` runs with: its two endpoints, the state machine's configuration,
/// its log level and its CURVE keys, checked.
public struct CoordinatorDaemonConfiguration: Sendable {
    /// Where clients (model processes, operator tools) connect: the client ROUTER's bind address.
    public var listen: String
    /// Where workers register and heartbeat: the registration ROUTER's bind address.
    public var workersEndpoint: String
    /// The state machine's configuration. `indexSeed` and `firstSequenceID` are drawn when the
    /// daemon starts, whatever they are here.
    public var coordinator: CoordinatorConfiguration
    /// The least severe level logged.
    public var logLevel: Logger.Level
    /// The coordinator's CURVE key-pair file: both ROUTERs are CURVE servers with it.
    public var curveSecret: String?
    /// The workers' CURVE public-key file (one key the workers share): the DEALERs to workers are
    /// CURVE clients of it. Needs `curveSecret`.
    public var workerKey: String?

    /// The configuration the command line describes. `heartbeatMilliseconds` must be the workers'
    /// `--heartbeat`; a worker silent for `deadAfter` of those intervals is dead. The tick runs every
    /// 100 ms, or every heartbeat interval when that is shorter. Each prefix page is held by
    /// `replicas` workers (1 to 4096; 1 replicates nothing). Throws what is wrong with the first
    /// option that is.
    public init(
        listen: String,
        workersEndpoint: String,
        model: String,
        heartbeatMilliseconds: Int = 1000,
        deadAfter: Int = 3,
        placement: String = PlacementPolicy.prefix.rawValue,
        replicas: Int = 1,
        logLevel: String = "info",
        curveSecret: String? = nil,
        workerKey: String? = nil
    ) throws(CoordinatorDaemonConfigurationError) {
        let spec: ModelSpec
        do {
            spec = try ModelSpec(parsing: model)
        } catch {
            throw .invalidModel("\(error)")
        }
        guard (1...3_600_000).contains(heartbeatMilliseconds) else {
            throw .invalidOption("--heartbeat must be 1 to 3600000 milliseconds, not \(heartbeatMilliseconds)")
        }
        guard (1...1000).contains(deadAfter) else {
            throw .invalidOption("--dead-after must be 1 to 1000 heartbeats, not \(deadAfter)")
        }
        guard let policy = PlacementPolicy(rawValue: placement) else {
            let names = PlacementPolicy.allCases.map(\.rawValue).joined(separator: ", ")
            throw .invalidOption("--placement must be one of \(names), not `\(placement)`")
        }
        var coordinator = CoordinatorConfiguration(spec: spec)
        guard (1...coordinator.maxWorkers).contains(replicas) else {
            throw .invalidOption("--replicas must be 1 to \(coordinator.maxWorkers) workers, not \(replicas)")
        }
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw .invalidOption(
                "--log-level must be trace, debug, info, notice, warning, error or critical, not `\(logLevel)`"
            )
        }
        guard workerKey == nil || curveSecret != nil else {
            throw .invalidOption("--worker-key needs --curve-secret (the coordinator's own key pair)")
        }
        for (name, endpoint) in [("--listen", listen), ("--workers-endpoint", workersEndpoint)] where endpoint.isEmpty {
            throw .invalidOption("\(name) needs an endpoint, e.g. tcp://0.0.0.0:7000")
        }
        coordinator.heartbeatInterval = .milliseconds(heartbeatMilliseconds)
        coordinator.deadAfterHeartbeats = deadAfter
        coordinator.tickInterval = min(coordinator.tickInterval, coordinator.heartbeatInterval)
        coordinator.placement = policy
        coordinator.replicas = replicas
        self.listen = listen
        self.workersEndpoint = workersEndpoint
        self.coordinator = coordinator
        self.logLevel = level
        self.curveSecret = curveSecret
        self.workerKey = workerKey
    }
}

/// What a workload run measured from the client's side.
public struct WorkloadMeasurements: Sendable {
    /// Requests in the workload.
    public var requests = 0
    /// Requests that opened, prefilled, decoded and closed without an error.
    public var completed = 0
    /// The first errors of requests that failed (at most `WorkloadMeasurements.keptErrors`), and
    /// how many failed in all.
    public var errors: [String] = []
    /// Requests that failed.
    public var failed = 0
    /// Prompt tokens of every opened request.
    public var promptTokens = 0
    /// Leading prompt tokens the cluster already had cached at open.
    public var cachedTokens = 0
    /// Prompt tokens prefilled (prompt minus cached).
    public var prefilledTokens = 0
    /// Tokens decoded (one per decode step of a sequence).
    public var decodedTokens = 0
    /// Wall time of the run.
    public var wall: Duration = .zero
    /// Per request: open to the last layer's prefill answer.
    public var prefillLatency = LatencySamples()
    /// Per decode step of a sequence: every layer's decode.
    public var stepLatency = LatencySamples()
    /// Answers compared with the dense reference, those beyond the tolerance, and the largest
    /// deviation seen.
    public var checkedAnswers = 0
    public var failedChecks = 0
    public var worstDeviation: Float = 0

    /// How many error messages are kept.
    public static let keptErrors = 5

    /// No requests yet.
    public init() {}

    /// Prefix hit rate over prompt tokens (0 with none).
    public var hitRate: Double { promptTokens == 0 ? 0 : Double(cachedTokens) / Double(promptTokens) }

    /// Prefilled tokens per second of wall time.
    public var prefillTokensPerSecond: Double { Self.rate(prefilledTokens, wall) }

    /// Decoded tokens per second of wall time.
    public var decodeTokensPerSecond: Double { Self.rate(decodedTokens, wall) }

    /// Adds one request's figures.
    mutating func merge(_ request: RequestMeasurement) {
        promptTokens += request.promptTokens
        cachedTokens += request.cachedTokens
        prefilledTokens += request.prefilledTokens
        decodedTokens += request.decodedTokens
        if let prefill = request.prefillLatency { prefillLatency.add(prefill) }
        stepLatency.merge(request.stepLatency)
        checkedAnswers += request.checkedAnswers
        failedChecks += request.failedChecks
        worstDeviation = max(worstDeviation, request.worstDeviation)
        if let error = request.error {
            failed += 1
            if errors.count < Self.keptErrors { errors.append(error) }
        } else {
            completed += 1
        }
    }

    private static func rate(_ count: Int, _ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        let elapsed = Double(seconds) + Double(attoseconds) / 1e18
        return elapsed > 0 ? Double(count) / elapsed : 0
    }
}

/// What one request of a workload measured.
struct RequestMeasurement: Sendable {
    var promptTokens = 0
    var cachedTokens = 0
    var prefilledTokens = 0
    var decodedTokens = 0
    var prefillLatency: Duration?
    var stepLatency = LatencySamples()
    var checkedAnswers = 0
    var failedChecks = 0
    var worstDeviation: Float = 0
    var error: String?
}

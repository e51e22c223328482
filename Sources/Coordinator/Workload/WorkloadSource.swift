/// Where a run's requests come from: a Mooncake-format trace replayed at a scale, or the built-in
/// chat workload.
public enum WorkloadSource: Sendable, Hashable {
    /// The trace file at `path`, its first `requests` records (all when nil), scaled by `scaling`.
    case trace(path: String, requests: Int?, scaling: TraceScaling)
    /// The built-in multi-turn chat workload.
    case chat(ChatWorkload)

    /// The requests, in arrival order.
    public func requests() throws(TraceError) -> [WorkloadRequest] {
        switch self {
        case let .trace(path, limit, scaling):
            let records = try TraceReader.read(path: path)
            return records.prefix(limit ?? records.count).map { scaling.scale($0) }
        case .chat(let workload):
            return workload.requests()
        }
    }
}

/// Durations of one kind (prefill of a request, one decode step) collected over a run, and their
/// percentiles.
public struct LatencySamples: Sendable, Hashable {
    private var milliseconds: [Double] = []

    /// No samples.
    public init() {}

    /// Samples collected.
    public var count: Int { milliseconds.count }

    /// Adds one sample.
    public mutating func add(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        milliseconds.append(Double(seconds) * 1000 + Double(attoseconds) / 1e15)
    }

    /// Adds every sample of `other`.
    public mutating func merge(_ other: LatencySamples) {
        milliseconds += other.milliseconds
    }

    /// The `fraction` (0…1) percentile in milliseconds, nearest rank; 0 with no samples.
    public func percentile(_ fraction: Double) -> Double {
        guard !milliseconds.isEmpty else { return 0 }
        let sorted = milliseconds.sorted()
        let rank = Int((fraction * Double(sorted.count)).rounded(.up)) - 1
        return sorted[min(sorted.count - 1, max(0, rank))]
    }
}

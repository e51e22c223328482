/// A point on a monotonic clock, in nanoseconds since an origin the caller chooses (for example
/// the process's start). The coordinator's state machine never reads a clock: every input comes
/// with the instant it happened, so tests drive time by hand and replays are exact.
public struct MonotonicInstant: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Nanoseconds since the caller's origin.
    public var nanoseconds: UInt64

    /// The instant `nanoseconds` after the origin.
    public init(nanoseconds: UInt64) {
        self.nanoseconds = nanoseconds
    }

    /// The origin.
    public static let zero = MonotonicInstant(nanoseconds: 0)

    /// Nanoseconds of `duration`, clamped to `0...UInt64.max` (a negative duration is zero).
    public static func nanoseconds(of duration: Duration) -> UInt64 {
        guard duration > .zero else { return 0 }
        // A positive duration has non-negative seconds and attoseconds.
        let (seconds, attoseconds) = duration.components
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return .max }
        let (sum, carry) = whole.addingReportingOverflow(UInt64(attoseconds / 1_000_000_000))
        return carry ? .max : sum
    }

    /// This instant moved `duration` later (saturating at the largest instant).
    public func advanced(by duration: Duration) -> MonotonicInstant {
        let (sum, overflow) = nanoseconds.addingReportingOverflow(Self.nanoseconds(of: duration))
        return MonotonicInstant(nanoseconds: overflow ? .max : sum)
    }

    /// The time from `earlier` to this instant; zero when `earlier` is not earlier.
    public func duration(since earlier: MonotonicInstant) -> Duration {
        guard nanoseconds > earlier.nanoseconds else { return .zero }
        return .nanoseconds(Int64(clamping: nanoseconds - earlier.nanoseconds))
    }

    /// Whether `self` comes before `other`.
    public static func < (lhs: MonotonicInstant, rhs: MonotonicInstant) -> Bool {
        lhs.nanoseconds < rhs.nanoseconds
    }

    /// `t+<nanoseconds>ns`.
    public var description: String { "t+\(nanoseconds)ns" }
}

/// A schedule an endpoint's own thread keeps: every `interval` it asks `messages` for what to send
/// and sends it, so the messages go out on time however busy the Swift-concurrency threads are.
struct PeriodicSend: Sendable {
    /// Time between two calls of `messages`.
    var interval: Duration
    /// When `messages` is called next.
    var next: ContinuousClock.Instant
    /// Makes the messages of one tick (each a multipart message); runs on the endpoint's thread.
    var messages: @Sendable () -> [[[UInt8]]]
    /// Told, on the endpoint's thread, why a message of a tick could not be sent within one interval.
    var onFailure: (@Sendable (TransportError) -> Void)?

    /// Whether a tick is due at `now`; if so, moves `next` on by whole intervals past `now` (ticks
    /// that could not be kept are skipped, not caught up).
    mutating func takeTick(at now: ContinuousClock.Instant) -> Bool {
        guard next <= now else { return false }
        next += interval
        if next <= now { next = now + interval }
        return true
    }
}

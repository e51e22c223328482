import CacheProtocol

/// Everything that can happen to the coordinator. The shell turns socket activity and the passing
/// of time into these, hands each to `CoordinatorInstance.handle(_:at:)` with the instant it
/// happened, and performs the directives it gets back.
public enum CoordinatorInput: Sendable, Hashable {
    /// A message decoded from one of the coordinator's connections.
    case received(Envelope, from: MessageSource)
    /// A message that could not be decoded (`Envelope(frames:)` threw). `requestID` is the header's
    /// id when frame 0 had at least 24 bytes and the right magic, `nil` otherwise; `code` is
    /// `version` for another major version and `badRequest` for anything else. A request from a
    /// client or worker link is answered with that code; an undecodable reply from a worker fails
    /// the request it answers; a refused `CacheEvent` is dropped (its gap shows later).
    case undecodable(from: MessageSource, requestID: UInt64?, code: ErrorCode, reason: String)
    /// The shell could not send the request `requestID` that a `sendToWorker` directive asked for
    /// (the message exceeded a limit, or the worker's connection is gone): the worker never got it,
    /// so the request fails as if the worker had refused it with `unavailable`.
    case sendFailed(worker: WorkerID, requestID: UInt64, reason: String)
    /// Time has passed: workers whose heartbeats stopped are declared dead and requests past their
    /// deadline are answered. The shell sends one every `CoordinatorConfiguration.tickInterval`.
    case tick
}

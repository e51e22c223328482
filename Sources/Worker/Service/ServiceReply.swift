import CacheProtocol

/// What the service makes of one request: the answer to send back (none for messages that are
/// never answered), the cache events it caused (numbered, in order, and already handed to the
/// service's event sink), and whether the request closed the last open sequence.
struct ServiceReply: Sendable {
    /// The answer, carrying the request's id.
    var reply: Envelope?
    /// Changes of the set of keys the worker holds, oldest first.
    var events: [NumberedCacheEvent]
    /// Whether this request closed the last open sequence (the worker has none open now).
    var closedLastSequence = false
}

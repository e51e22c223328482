import CacheProtocol

/// What the service makes of one request: the answer to send back (none for messages that are
/// never answered) and the cache events to publish, numbered and in order.
struct ServiceReply: Sendable {
    /// The answer, carrying the request's id.
    var reply: Envelope?
    /// Changes of the set of keys the worker holds, oldest first.
    var events: [CacheEvent]
}

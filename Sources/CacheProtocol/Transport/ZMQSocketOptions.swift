/// Options applied to an endpoint's socket before it binds or connects.
public struct ZMQSocketOptions: Sendable, Hashable {
    /// How long close waits to deliver unsent messages (`ZMQ_LINGER`).
    public var linger: Duration
    /// Frames larger than this many bytes make the receiver drop the sending peer
    /// (`ZMQ_MAXMSGSIZE`); `nil` for no limit.
    public var maxMessageSize: Int?
    /// Messages queued per peer before sends wait (`ZMQ_SNDHWM`, `ZMQ_RCVHWM`).
    public var highWaterMark: Int
    /// CURVE encryption and authentication; `nil` for plain TCP.
    public var curve: ZMQCurveSecurity?
    /// The identity a ROUTER peer sees for this socket (`ZMQ_ROUTING_ID`); `nil` lets the ROUTER
    /// pick one.
    public var routingID: [UInt8]?
    /// Topic prefixes a SUB socket receives (`ZMQ_SUBSCRIBE`); `[[]]` is everything.
    public var subscriptions: [[UInt8]]

    /// Options with linger 500 ms, 64 MiB frames, high-water mark 1000, no CURVE.
    public init(
        linger: Duration = .milliseconds(500),
        maxMessageSize: Int? = 64 << 20,
        highWaterMark: Int = 1000,
        curve: ZMQCurveSecurity? = nil,
        routingID: [UInt8]? = nil,
        subscriptions: [[UInt8]] = [[]]
    ) {
        self.linger = linger
        self.maxMessageSize = maxMessageSize
        self.highWaterMark = highWaterMark
        self.curve = curve
        self.routingID = routingID
        self.subscriptions = subscriptions
    }
}

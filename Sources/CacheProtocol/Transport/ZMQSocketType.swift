import CZeroMQ

/// The ZeroMQ messaging patterns an endpoint can take.
public enum ZMQSocketType: Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Routes by peer identity: each received message starts with the sender's identity frame, and a
    /// sent message's first frame names the peer.
    case router
    /// Load-balances outgoing messages and fair-queues incoming ones, without envelopes.
    case dealer
    /// Publishes to every matching subscriber.
    case pub
    /// Receives what publishers send for its subscriptions.
    case sub
    /// Sends one way, load-balanced.
    case push
    /// Receives what pushers send.
    case pull
    /// Strict request then reply, client side.
    case req
    /// Strict request then reply, server side.
    case rep

    var code: Int32 {
        switch self {
        case .router: ZMQ_ROUTER
        case .dealer: ZMQ_DEALER
        case .pub: ZMQ_PUB
        case .sub: ZMQ_SUB
        case .push: ZMQ_PUSH
        case .pull: ZMQ_PULL
        case .req: ZMQ_REQ
        case .rep: ZMQ_REP
        }
    }

    public var description: String { "\(self)".uppercased() }
}

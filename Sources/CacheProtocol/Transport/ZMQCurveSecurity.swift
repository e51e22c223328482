/// Which side of a CURVE handshake a socket takes.
///
/// The binding side of a connection is the server: it holds its own key pair, and every client
/// must know the server's public key beforehand. A client that uses the wrong server key fails the
/// handshake: libzmq drops the connection silently, so the client sees no reply (its requests time
/// out) and the server never sees its messages.
public enum ZMQCurveSecurity: Sendable, Hashable {
    /// Accepts CURVE clients with this key pair (`ZMQ_CURVE_SERVER`, `ZMQ_CURVE_SECRETKEY`).
    case server(ZMQCurveKeyPair)
    /// Connects with this key pair to the server whose public key is `serverKey` (Z85)
    /// (`ZMQ_CURVE_PUBLICKEY`, `ZMQ_CURVE_SECRETKEY`, `ZMQ_CURVE_SERVERKEY`).
    case client(ZMQCurveKeyPair, serverKey: String)
}

import CZeroMQ
import Glibc

/// A libzmq context: the I/O threads every socket of this process runs on.
///
/// Endpoints keep their context alive; the context terminates (`zmq_ctx_term`) when the last
/// reference goes, which is after every endpoint made from it has closed its socket.
/// libzmq contexts are thread-safe, hence `@unchecked Sendable`.
public final class ZMQContext: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer

    /// A new context; throws `TransportError.zmq` when libzmq cannot create one.
    public init() throws(TransportError) {
        guard let handle = zmq_ctx_new() else { throw .lastZMQ("zmq_ctx_new") }
        self.handle = handle
    }

    /// Whether this libzmq supports CURVE security.
    public static var hasCurve: Bool { zmq_has("curve") != 0 }

    deinit {
        while zmq_ctx_term(handle) != 0 && zmq_errno() == EINTR {}
    }
}

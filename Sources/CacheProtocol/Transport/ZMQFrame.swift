import CZeroMQ
import Glibc

/// One received frame, left where libzmq put it: the value owns the received `zmq_msg_t`, which
/// is closed (its buffer released) when the last copy of the value goes away. Reading it copies
/// nothing; `Array(frame)` copies the bytes once, for whoever keeps them.
///
/// A frame is immutable after receipt, so it may be read from any thread. Holding it holds
/// libzmq's receive buffer, which for small frames may be shared with other frames: keep the
/// bytes (`Array(frame)`, or a decoded message), not the frame, for long.
public struct ZMQFrame: FrameBytes, Equatable, CustomStringConvertible {
    /// A received message, closed on deinit.
    final class Message: @unchecked Sendable {
        private let message: UnsafeMutablePointer<zmq_msg_t>
        let base: UnsafeRawPointer?
        let count: Int

        /// Takes ownership of `message`, an initialised and received `zmq_msg_t` on the heap (a
        /// short message's bytes live inside the struct, so it must never move).
        init(owning message: UnsafeMutablePointer<zmq_msg_t>) {
            self.message = message
            self.count = zmq_msg_size(message)
            self.base = UnsafeRawPointer(zmq_msg_data(message))
        }

        deinit {
            zmq_msg_close(message)
            message.deallocate()
        }
    }

    private let message: Message

    init(_ message: Message) {
        self.message = message
    }

    /// Bytes in the frame.
    public var count: Int { message.count }

    /// Calls `body` with the frame's bytes in libzmq's buffer, valid only during the call.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withExtendedLifetime(message) {
            try body(UnsafeRawBufferPointer(start: message.count == 0 ? nil : message.base, count: message.count))
        }
    }

    /// Whether both frames hold the same bytes.
    public static func == (lhs: ZMQFrame, rhs: ZMQFrame) -> Bool {
        lhs.withUnsafeBytes { a in
            rhs.withUnsafeBytes { b in
                guard a.count == b.count else { return false }
                guard let x = a.baseAddress, let y = b.baseAddress else { return true }
                return memcmp(x, y, a.count) == 0
            }
        }
    }

    /// The byte count, e.g. `ZMQFrame(1048576 bytes)`.
    public var description: String { "ZMQFrame(\(count) bytes)" }
}

extension Array where Element == UInt8 {
    /// A copy of the bytes of `frame`.
    public init(_ frame: ZMQFrame) {
        self = frame.withUnsafeBytes { Array($0) }
    }
}

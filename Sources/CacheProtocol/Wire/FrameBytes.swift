/// The bytes of one frame of a multipart message, read in place: `[UInt8]` (frames built to send,
/// or read from a file) and `ZMQFrame` (frames received, still in libzmq's buffer). Decoders take
/// any of them, so a received message is decoded without first copying its frames.
public protocol FrameBytes: Sendable {
    /// Bytes in the frame.
    var count: Int { get }

    /// Calls `body` with the frame's bytes, which stay valid only during the call.
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
}

/// A frame built in memory.
extension Array: FrameBytes where Element == UInt8 {}

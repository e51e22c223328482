import CZeroMQ
import Glibc

/// One libzmq socket, closed on deinit. Not thread-safe: it is created by an endpoint, then owned
/// and used by that endpoint's thread alone (the thread start is the memory barrier libzmq asks for
/// when a socket changes threads), hence `@unchecked Sendable`.
final class ZMQSocket: @unchecked Sendable {
    /// Frames at least this long are sent without a copy: libzmq reads the array's storage and
    /// releases it through a free callback once sent.
    static let zeroCopyThreshold = 32 << 10

    let handle: UnsafeMutableRawPointer
    private var isOpen = true

    init(context: ZMQContext, type: ZMQSocketType) throws(TransportError) {
        guard let handle = zmq_socket(context.handle, type.code) else { throw .lastZMQ("zmq_socket(\(type))") }
        self.handle = handle
    }

    /// Closes the socket (once); its thread calls this before it ends, so that the context can
    /// terminate.
    func close() {
        if isOpen { zmq_close(handle) }
        isOpen = false
    }

    deinit {
        close()
    }

    func set(_ option: Int32, _ value: Int32, _ name: String) throws(TransportError) {
        var v = value
        guard zmq_setsockopt(handle, option, &v, MemoryLayout<Int32>.size) == 0 else {
            throw .lastZMQ("zmq_setsockopt(\(name))")
        }
    }

    func set(_ option: Int32, int64 value: Int64, _ name: String) throws(TransportError) {
        var v = value
        guard zmq_setsockopt(handle, option, &v, MemoryLayout<Int64>.size) == 0 else {
            throw .lastZMQ("zmq_setsockopt(\(name))")
        }
    }

    func set(_ option: Int32, bytes: [UInt8], _ name: String) throws(TransportError) {
        let rc = bytes.withUnsafeBytes { zmq_setsockopt(handle, option, $0.baseAddress, $0.count) }
        guard rc == 0 else { throw .lastZMQ("zmq_setsockopt(\(name))") }
    }

    /// Applies `options` (and always `ZMQ_IPV6`, so `tcp://[::1]:port` works next to IPv4).
    func apply(_ options: ZMQSocketOptions, type: ZMQSocketType) throws(TransportError) {
        let milliseconds =
            options.linger.components.seconds * 1000 + options.linger.components.attoseconds / 1_000_000_000_000_000
        try set(ZMQ_LINGER, Int32(clamping: milliseconds), "ZMQ_LINGER")
        try set(ZMQ_MAXMSGSIZE, int64: Int64(options.maxMessageSize ?? -1), "ZMQ_MAXMSGSIZE")
        try set(ZMQ_SNDHWM, Int32(clamping: options.highWaterMark), "ZMQ_SNDHWM")
        try set(ZMQ_RCVHWM, Int32(clamping: options.highWaterMark), "ZMQ_RCVHWM")
        try set(ZMQ_IPV6, 1, "ZMQ_IPV6")
        if type == .router { try set(ZMQ_ROUTER_MANDATORY, 1, "ZMQ_ROUTER_MANDATORY") }
        if type == .sub {
            for topic in options.subscriptions { try set(ZMQ_SUBSCRIBE, bytes: topic, "ZMQ_SUBSCRIBE") }
        }
        if let id = options.routingID { try set(ZMQ_ROUTING_ID, bytes: id, "ZMQ_ROUTING_ID") }
        switch options.curve {
        case nil:
            break
        case .server(let keys):
            try set(ZMQ_CURVE_SERVER, 1, "ZMQ_CURVE_SERVER")
            try set(ZMQ_CURVE_SECRETKEY, bytes: Array(keys.secretKey.utf8), "ZMQ_CURVE_SECRETKEY")
        case .client(let keys, let serverKey):
            try ZMQCurveKeyPair.validate(serverKey)
            try set(ZMQ_CURVE_SERVERKEY, bytes: Array(serverKey.utf8), "ZMQ_CURVE_SERVERKEY")
            try set(ZMQ_CURVE_PUBLICKEY, bytes: Array(keys.publicKey.utf8), "ZMQ_CURVE_PUBLICKEY")
            try set(ZMQ_CURVE_SECRETKEY, bytes: Array(keys.secretKey.utf8), "ZMQ_CURVE_SECRETKEY")
        }
    }

    func bind(_ endpoint: String) throws(TransportError) {
        guard zmq_bind(handle, endpoint) == 0 else { throw .lastZMQ("zmq_bind(\(endpoint))") }
    }

    func connect(_ endpoint: String) throws(TransportError) {
        guard zmq_connect(handle, endpoint) == 0 else { throw .lastZMQ("zmq_connect(\(endpoint))") }
    }

    /// `ZMQ_LAST_ENDPOINT`: the address the last bind resolved to (the port of `tcp://…:*`).
    func lastEndpoint() throws(TransportError) -> String {
        var buffer = [CChar](repeating: 0, count: 1024)
        var size = buffer.count
        guard zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, &buffer, &size) == 0 else {
            throw .lastZMQ("zmq_getsockopt(ZMQ_LAST_ENDPOINT)")
        }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Sends `frames` as one multipart message without waiting; `false` when the socket cannot take
    /// it now (`EAGAIN` on the first frame: high-water mark reached or no peer yet).
    func send(_ frames: [[UInt8]]) throws(TransportError) -> Bool {
        guard !frames.isEmpty else { throw .emptyMessage }
        for (index, frame) in frames.enumerated() {
            var message = zmq_msg_t()
            if frame.count >= Self.zeroCopyThreshold {
                let box = FrameStorage(frame)
                let hint = Unmanaged.passRetained(box).toOpaque()
                let rc = zmq_msg_init_data(
                    &message,
                    box.base,
                    frame.count,
                    { _, hint in
                        if let hint { Unmanaged<FrameStorage>.fromOpaque(hint).release() }
                    },
                    hint
                )
                guard rc == 0 else {
                    Unmanaged<FrameStorage>.fromOpaque(hint).release()
                    throw .lastZMQ("zmq_msg_init_data")
                }
            } else {
                guard zmq_msg_init_size(&message, frame.count) == 0 else { throw .lastZMQ("zmq_msg_init_size") }
                if !frame.isEmpty {
                    frame.withUnsafeBytes {
                        zmq_msg_data(&message).copyMemory(from: $0.baseAddress.unsafelyUnwrapped, byteCount: $0.count)
                    }
                }
            }
            let flags = ZMQ_DONTWAIT | (index + 1 < frames.count ? ZMQ_SNDMORE : 0)
            if zmq_msg_send(&message, handle, flags) < 0 {
                let code = zmq_errno()
                zmq_msg_close(&message)
                if code == EAGAIN && index == 0 { return false }
                throw .zmq(operation: "zmq_msg_send", code: code, message: String(cString: zmq_strerror(code)))
            }
        }
        return true
    }

    /// The next multipart message if one is waiting, else `nil`. The frames stay in libzmq's
    /// buffers: nothing is copied.
    func receive() throws(TransportError) -> [ZMQFrame]? {
        var frames = [ZMQFrame]()
        while true {
            let message = UnsafeMutablePointer<zmq_msg_t>.allocate(capacity: 1)
            zmq_msg_init(message)
            if zmq_msg_recv(message, handle, ZMQ_DONTWAIT) < 0 {
                let code = zmq_errno()
                zmq_msg_close(message)
                message.deallocate()
                if code == EAGAIN && frames.isEmpty { return nil }
                throw .zmq(operation: "zmq_msg_recv", code: code, message: String(cString: zmq_strerror(code)))
            }
            let more = zmq_msg_more(message) != 0
            frames.append(ZMQFrame(ZMQFrame.Message(owning: message)))
            if !more { return frames }
        }
    }
}

/// Keeps a frame's array alive while libzmq sends from its storage.
private final class FrameStorage {
    let frame: [UInt8]
    let base: UnsafeMutableRawPointer

    init(_ frame: [UInt8]) {
        self.frame = frame
        // The array is never mutated while held here, so its storage does not move.
        self.base = UnsafeMutableRawPointer(mutating: frame.withUnsafeBytes { $0.baseAddress.unsafelyUnwrapped })
    }
}

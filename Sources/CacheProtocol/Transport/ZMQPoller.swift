import CZeroMQ

/// Waits on a socket and a file descriptor at once (`zmq_poll`): what an endpoint thread sleeps in.
struct ZMQPoller {
    /// What became ready.
    struct Ready {
        var readable = false
        var writable = false
        var woken = false
    }

    /// Waits up to `timeoutMilliseconds` (-1: forever) for `socket` to become readable (when
    /// `read`) or writable (when `write`), or `wakeFD` readable.
    static func wait(
        socket: ZMQSocket,
        read: Bool,
        write: Bool,
        wakeFD: Int32,
        timeoutMilliseconds: Int
    ) throws(TransportError) -> Ready {
        var events: Int16 = 0
        if read { events |= Int16(ZMQ_POLLIN) }
        if write { events |= Int16(ZMQ_POLLOUT) }
        var items = [
            zmq_pollitem_t(socket: socket.handle, fd: 0, events: events, revents: 0),
            zmq_pollitem_t(socket: nil, fd: wakeFD, events: Int16(ZMQ_POLLIN), revents: 0),
        ]
        if zmq_poll(&items, 2, timeoutMilliseconds) < 0 {
            if zmq_errno() == EINTR { return Ready() }
            throw .lastZMQ("zmq_poll")
        }
        return Ready(
            readable: items[0].revents & Int16(ZMQ_POLLIN) != 0,
            writable: items[0].revents & Int16(ZMQ_POLLOUT) != 0,
            woken: items[1].revents & Int16(ZMQ_POLLIN) != 0
        )
    }
}

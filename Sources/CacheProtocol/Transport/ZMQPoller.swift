import CZeroMQ

/// Waits on sockets and a file descriptor at once (`zmq_poll`): what an endpoint's or a reactor's
/// thread sleeps in.
struct ZMQPoller {
    /// What became ready.
    struct Ready {
        var readable = false
        var writable = false
        var woken = false
    }

    /// One socket to wait on, and for what.
    struct Item {
        var socket: ZMQSocket
        var read: Bool
        var write: Bool
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
        var items = [
            pollItem(Item(socket: socket, read: read, write: write)),
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

    /// Waits up to `timeoutMilliseconds` (-1: forever) until one of `items` is ready for what it
    /// asks or `wakeFD` is readable; the caller then tries every socket (reads and sends that
    /// would block return at once).
    static func wait(_ items: [Item], wakeFD: Int32, timeoutMilliseconds: Int) throws(TransportError) {
        var polled = items.map(pollItem)
        polled.append(zmq_pollitem_t(socket: nil, fd: wakeFD, events: Int16(ZMQ_POLLIN), revents: 0))
        if zmq_poll(&polled, Int32(polled.count), timeoutMilliseconds) < 0, zmq_errno() != EINTR {
            throw .lastZMQ("zmq_poll")
        }
    }

    /// The whole milliseconds from `now` until `deadline`, rounded up (0 once it has passed): a
    /// `zmq_poll` timeout that does not wake before the deadline.
    static func milliseconds(until deadline: ContinuousClock.Instant, from now: ContinuousClock.Instant) -> Int {
        let left = now.duration(to: deadline)
        guard left > .zero else { return 0 }
        let (seconds, attoseconds) = left.components
        return Int(seconds) * 1000 + Int((attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
    }

    private static func pollItem(_ item: Item) -> zmq_pollitem_t {
        var events: Int16 = 0
        if item.read { events |= Int16(ZMQ_POLLIN) }
        if item.write { events |= Int16(ZMQ_POLLOUT) }
        return zmq_pollitem_t(socket: item.socket.handle, fd: 0, events: events, revents: 0)
    }
}

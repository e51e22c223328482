/// The routing-identity frame a ZeroMQ ROUTER socket puts in front of every message it receives
/// from one peer, and that must precede the answer to that peer. Opaque bytes: the coordinator
/// only hands them back.
public struct RoutingIdentity: Sendable, Hashable, CustomStringConvertible {
    /// The identity frame's bytes.
    public var bytes: [UInt8]

    /// The identity made of `bytes`.
    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// The bytes in hexadecimal.
    public var description: String {
        let digits = Array("0123456789abcdef")
        return String(bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0xF)]] })
    }
}

import Testing

@testable import Worker

/// `mfa-worker --heartbeat MS`: the time between heartbeats.
@Suite("Heartbeat option")
struct HeartbeatOptionTests {
    static func configuration(heartbeat: Int? = nil) throws(ConfigurationError) -> WorkerConfiguration {
        if let heartbeat {
            return try WorkerConfiguration(
                coordinator: "tcp://127.0.0.1:7000",
                listen: "tcp://127.0.0.1:*",
                model: "name=m,layers=2,q-heads=4,kv-heads=2,head-dim=32,kv=f16",
                memory: nil,
                compressedMemory: nil,
                dataDirectory: nil,
                disk: nil,
                role: "compute",
                remotes: [],
                threads: nil,
                curveSecret: nil,
                coordinatorKey: nil,
                logLevel: "info",
                workerID: 1,
                heartbeatMilliseconds: heartbeat
            )
        }
        return try WorkerConfiguration(
            coordinator: "tcp://127.0.0.1:7000",
            listen: "tcp://127.0.0.1:*",
            model: "name=m,layers=2,q-heads=4,kv-heads=2,head-dim=32,kv=f16",
            memory: nil,
            compressedMemory: nil,
            dataDirectory: nil,
            disk: nil,
            role: "compute",
            remotes: [],
            threads: nil,
            curveSecret: nil,
            coordinatorKey: nil,
            logLevel: "info",
            workerID: 1
        )
    }

    @Test("the default is one second; a value in milliseconds sets the interval")
    func interval() throws {
        #expect(try Self.configuration().heartbeatInterval == .seconds(1))
        #expect(try Self.configuration(heartbeat: 150).heartbeatInterval == .milliseconds(150))
    }

    @Test("an interval outside 1 ms … 1 h is refused", arguments: [0, -5, 3_600_001])
    func outOfRange(milliseconds: Int) {
        #expect(throws: ConfigurationError.self) { try Self.configuration(heartbeat: milliseconds) }
    }
}

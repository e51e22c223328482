import CacheProtocol
import Testing

@testable import Worker

/// Sizes with units and the worker's command line.
@Suite("WorkerConfiguration")
struct WorkerConfigurationTests {
    @Test(
        "sizes parse with decimal and binary units",
        arguments: [
            ("4096", 4096), ("4096B", 4096), ("1kB", 1000), ("1KB", 1000), ("100MB", 100_000_000),
            ("8GB", 8_000_000_000),
            ("512KiB", 512 << 10), ("512MiB", 512 << 20), ("8GiB", 8 << 30), ("2TiB", 2 << 40), ("0", 0),
        ]
    )
    func sizes(text: String, bytes: Int) throws {
        #expect(try ByteSize(parsing: text).bytes == bytes)
    }

    @Test(
        "malformed and overflowing sizes are refused",
        arguments: ["", "MiB", "-1", "1.5GiB", "12XB", "1 MiB", "9999999999TiB", "١٢"]
    )
    func badSizes(text: String) {
        #expect(throws: ConfigurationError.invalidByteSize(text)) { try ByteSize(parsing: text) }
    }

    static func configuration(
        model: String? = "name=m,layers=2,q-heads=4,kv-heads=2,head-dim=32,kv=f16",
        memory: String? = "64MiB",
        dataDirectory: String? = nil,
        disk: String? = nil,
        role: String = "compute",
        threads: Int? = nil,
        logLevel: String = "info",
        droppedCacheEvents: String? = nil
    ) throws(ConfigurationError) -> WorkerConfiguration {
        try WorkerConfiguration(
            coordinator: "tcp://127.0.0.1:7000",
            listen: "tcp://127.0.0.1:*",
            model: model,
            memory: memory,
            compressedMemory: "1GiB",
            dataDirectory: dataDirectory,
            disk: disk,
            role: role,
            remotes: ["tcp://r:1"],
            threads: threads,
            curveSecret: nil,
            coordinatorKey: nil,
            logLevel: logLevel,
            workerID: 9,
            droppedCacheEvents: droppedCacheEvents
        )
    }

    @Test("a full command line is read into typed values")
    func valid() throws {
        let configuration = try Self.configuration(
            dataDirectory: "/tmp/x",
            disk: "10GB",
            role: "store",
            threads: 2,
            logLevel: "debug"
        )
        #expect(configuration.memory.bytes == 64 << 20)
        #expect(configuration.compressedMemory?.bytes == 1 << 30)
        #expect(configuration.disk?.bytes == 10_000_000_000)
        #expect(configuration.role == .store)
        #expect(configuration.model.layers == 2)
        #expect(configuration.logLevel == .debug)
        #expect(configuration.remotes == ["tcp://r:1"])
        #expect(try Self.configuration(memory: nil).memory == WorkerConfiguration.defaultMemory)
    }

    @Test("impossible combinations are refused with a reason")
    func invalid() {
        #expect(throws: ConfigurationError.self) { try Self.configuration(model: nil) }
        #expect(throws: ConfigurationError.self) { try Self.configuration(model: "name=m,layers=0") }
        #expect(throws: ConfigurationError.invalidByteSize("lots")) { try Self.configuration(memory: "lots") }
        #expect(throws: ConfigurationError.self) { try Self.configuration(memory: "0") }
        #expect(throws: ConfigurationError.self) { try Self.configuration(dataDirectory: "/tmp/x") }
        #expect(throws: ConfigurationError.self) { try Self.configuration(role: "gpu") }
        #expect(throws: ConfigurationError.self) { try Self.configuration(threads: 0) }
        #expect(throws: ConfigurationError.self) { try Self.configuration(logLevel: "loud") }
    }

    @Test(
        "the test hook's event numbers are read from a comma-separated list; none when it is not set",
        arguments: [("1", [1]), ("1,5", [1, 5]), (" 2 , 3,2", [2, 3])] as [(String, Set<UInt64>)]
    )
    func droppedCacheEvents(text: String, numbers: Set<UInt64>) throws {
        #expect(try Self.configuration(droppedCacheEvents: text).droppedCacheEvents == numbers)
        #expect(try Self.configuration().droppedCacheEvents.isEmpty)
    }

    @Test("the test hook refuses anything but positive event numbers", arguments: ["", "0", "1,,2", "x", "-1", "1;2"])
    func badDroppedCacheEvents(text: String) {
        #expect(throws: ConfigurationError.self) { try Self.configuration(droppedCacheEvents: text) }
    }
}

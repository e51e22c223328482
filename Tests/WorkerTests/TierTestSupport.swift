import CacheProtocol
import Foundation
import Kernels
import Logging
import Synchronization

@testable import Worker

/// Log lines kept in memory, so that tests can check what a tier logged.
final class CapturedLog: Sendable {
    private let lines = Mutex<[String]>([])

    /// A logger writing here.
    var logger: Logger {
        Logger(label: "test") { _ in CapturingLogHandler(log: self) }
    }

    /// Every line so far: the message then its metadata.
    var all: [String] { lines.withLock { $0 } }

    func append(_ line: String) {
        lines.withLock { $0.append(line) }
    }
}

/// A log handler appending each line to a `CapturedLog`.
struct CapturingLogHandler: LogHandler {
    let log: CapturedLog
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        log.append("\(event.message) \(event.metadata ?? [:])")
    }
}

/// The prefix key numbered `n`.
func tierKey(_ n: Int) -> PrefixKey {
    PrefixKey(digest: Digest32(sha256: Array("tier test key \(n)".utf8)))
}

/// A page of random values: 2 layers, 16 tokens, 2 KV heads, head dim 32, stored as `storage`.
func randomPage(_ storage: KVStorageType, seed: UInt64) throws -> RawPage {
    let layout = try PageLayout(layers: 2, pageSize: 16, kvHeads: 2, headDim: 32, storage: storage)
    var random = SplitMix64(seed: seed)
    return try RawPage(layout: layout, values: random.floats(layout.elementCount, in: -4..<4))
}

/// A fresh empty directory under the system's temporary directory.
func temporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "mfa-tiers-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

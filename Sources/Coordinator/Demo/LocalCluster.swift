import Foundation

/// A two-worker cluster on loopback: a `--role store` worker, and a compute worker whose prefix
/// cache tiers are compressed RAM, a disk tier in a fresh temporary directory, and the store as its
/// remote. Starting either both run or neither does; `stop` ends both by PID with SIGTERM (killing
/// one that does not exit in time) and removes the directory.
struct LocalCluster: Sendable {
    /// The memory of each tier, as `mfa-worker` takes it (`384KiB`, `4MiB`…).
    struct Sizes: Sendable {
        /// Hot pool of the compute worker.
        var computeMemory: String
        /// Compressed RAM tier of the compute worker.
        var compressedMemory: String
        /// Disk tier of the compute worker.
        var disk: String
        /// Hot pool of the store worker.
        var storeMemory: String
    }

    /// How one worker's stop ended.
    struct Exit: Sendable {
        /// `store` or `compute`.
        var role: String
        /// Its process id.
        var pid: Int32
        /// Its exit status; nil when it had to be killed or died of a signal.
        var status: Int32?
    }

    /// The store worker.
    let store: LaunchedWorker
    /// The compute worker, whose remote tier is `store`.
    let compute: LaunchedWorker
    /// The compute worker's data directory (its disk tier).
    let directory: String
    /// The command-line arguments each worker was started with, `store` first.
    let arguments: [(role: String, arguments: [String])]

    /// Starts the store worker, then the compute worker using it, both serving `model` (the spec's
    /// text form); a failure stops what was started and removes the directory before it is thrown.
    init(binary: URL, model: String, sizes: Sizes) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mfa-demo-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        let storeArguments = ["--model", model, "--role", "store", "--memory", sizes.storeMemory, "--worker-id", "2"]
        let store: LaunchedWorker
        do {
            store = try LaunchedWorker(binary: binary, arguments: storeArguments)
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
        let computeArguments = [
            "--model", model, "--role", "compute", "--memory", sizes.computeMemory,
            "--compressed-memory", sizes.compressedMemory, "--data-dir", directory, "--disk", sizes.disk,
            "--remote", store.endpoint, "--worker-id", "1",
        ]
        do {
            compute = try LaunchedWorker(binary: binary, arguments: computeArguments)
        } catch {
            store.stop()
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
        self.store = store
        self.directory = directory
        arguments = [("store", storeArguments), ("compute", computeArguments)]
    }

    /// Stops the compute worker (it flushes its compressed tier to disk), then the store, each
    /// waited for at most `timeout`, and removes the data directory. Returns how each ended and
    /// whether the directory is gone.
    func stop(within timeout: Duration) -> (exits: [Exit], directoryRemoved: Bool) {
        let exits = [
            Exit(role: "compute", pid: compute.pid, status: compute.stop(within: timeout)),
            Exit(role: "store", pid: store.pid, status: store.stop(within: timeout)),
        ]
        try? FileManager.default.removeItem(atPath: directory)
        return (exits, !FileManager.default.fileExists(atPath: directory))
    }
}

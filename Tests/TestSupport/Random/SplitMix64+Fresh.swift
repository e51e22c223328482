import Kernels

extension SplitMix64 {
    /// A generator with a fresh seed each run: a test prints `seed` with a failure, and
    /// `SplitMix64(seed:)` with it reproduces the run.
    public static func fresh() -> SplitMix64 {
        SplitMix64(seed: UInt64.random(in: 0...UInt64.max))
    }
}

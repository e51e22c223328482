import Kernels

/// A small, fast, seedable random generator (SplitMix64) so that a failing test can print the
/// seed that reproduces it.
struct SeededGenerator: RandomNumberGenerator, Sendable {
    /// The seed this generator started from.
    let seed: UInt64
    private var generator: SplitMix64

    /// A generator starting at `seed`.
    init(seed: UInt64) {
        self.seed = seed
        generator = SplitMix64(seed: seed)
    }

    /// A generator with a fresh seed each run; failure messages print it.
    static func fresh() -> SeededGenerator {
        SeededGenerator(seed: UInt64.random(in: 0...UInt64.max))
    }

    mutating func next() -> UInt64 {
        generator.next()
    }

    /// `count` floats uniform in `-1...1`.
    mutating func floats(_ count: Int) -> [Float] {
        (0..<count).map { _ in Float.random(in: -1...1, using: &self) }
    }
}

/// A small, fast, seedable random generator (SplitMix64) so that a failing test can print the
/// seed that reproduces it.
struct SeededGenerator: RandomNumberGenerator, Sendable {
    /// The seed this generator started from.
    let seed: UInt64
    private var state: UInt64

    /// A generator starting at `seed`.
    init(seed: UInt64) {
        self.seed = seed
        state = seed
    }

    /// A generator with a fresh seed each run; failure messages print it.
    static func fresh() -> SeededGenerator {
        SeededGenerator(seed: UInt64.random(in: 0...UInt64.max))
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// `count` floats uniform in `-1...1`.
    mutating func floats(_ count: Int) -> [Float] {
        (0..<count).map { _ in Float.random(in: -1...1, using: &self) }
    }
}

/// A small, fast, seedable random generator (SplitMix64) for synthetic K/V, benchmark and demo
/// workloads and tests: the same seed gives the same sequence on every machine.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    /// The seed this generator started from: printed with a failure, it reproduces the run.
    public let seed: UInt64
    private var state: UInt64

    /// A generator starting at `seed`; the same seed gives the same sequence.
    public init(seed: UInt64) {
        self.seed = seed
        state = seed
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// `count` floats uniform in `-1..<1`, from the top 24 bits of each draw.
    public mutating func floats(_ count: Int) -> [Float] {
        var values = [Float](repeating: 0, count: count)
        for i in 0..<count {
            values[i] = Float(Int32(truncatingIfNeeded: next() >> 32) >> 8) * (1 / 8_388_608)
        }
        return values
    }

    /// A float uniform in `range`, from the top 24 bits of one draw.
    public mutating func float(in range: Range<Float>) -> Float {
        range.lowerBound + Float(next() >> 40) / Float(1 << 24) * (range.upperBound - range.lowerBound)
    }

    /// `count` floats uniform in `range`, one draw each (`float(in:)`).
    public mutating func floats(_ count: Int, in range: Range<Float>) -> [Float] {
        (0..<count).map { _ in float(in: range) }
    }

    /// `count` bytes, eight from each draw: incompressible data.
    public mutating func bytes(_ count: Int) -> [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(count + 8)
        while bytes.count < count {
            withUnsafeBytes(of: next()) { bytes.append(contentsOf: $0) }
        }
        return Array(bytes.prefix(count))
    }
}

import TestSupport
import Testing

@testable import Kernels

@Suite struct BFloat16Tests {
    @Test func roundsToNearestEven() {
        // 1 + 2^-8 is exactly halfway between bf16 1.0 and the next value: ties go to even (1.0).
        #expect(BFloat16(Float(1) + Float(1) / 256).bitPattern == 0x3F80)
        // Just above halfway rounds up.
        #expect(BFloat16(Float(bitPattern: 0x3F80_8001)).bitPattern == 0x3F81)
        // Halfway above an odd mantissa rounds up to even.
        #expect(BFloat16(Float(bitPattern: 0x3F81_8000)).bitPattern == 0x3F82)
        #expect(BFloat16(-2.5).floatValue == -2.5)
        #expect(BFloat16(Float.nan).floatValue.isNaN)
        #expect(BFloat16(Float.infinity).floatValue == .infinity)
    }

    /// Every non-NaN bf16 converts to `Float` and back to the same bits.
    @Test func everyValueRoundTrips() {
        var mismatches = 0
        for bits in UInt16.min...UInt16.max {
            let value = BFloat16(bitPattern: bits)
            if value.floatValue.isNaN { continue }
            if BFloat16(value.floatValue).bitPattern != bits { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }

    /// Rounding picks the nearer neighbour, ties to even, symmetric in sign; the largest floats
    /// round to infinity, subnormals and signed zeros are kept.
    @Test func roundingEdges() {
        var generator = SplitMix64.fresh()
        for _ in 0..<2000 {
            let x = Float(bitPattern: UInt32.random(in: 0...0x7F7E_FFFF, using: &generator))
            let rounded = BFloat16(x).floatValue
            let down = Float(bitPattern: x.bitPattern & 0xFFFF_0000)
            let up = Float(bitPattern: (x.bitPattern & 0xFFFF_0000) &+ 0x1_0000)
            #expect(rounded == down || rounded == up, "seed \(generator.seed), x \(x)")
            #expect(abs(rounded - x) <= abs((rounded == down ? up : down) - x), "seed \(generator.seed), x \(x)")
            #expect(BFloat16(-x).floatValue == -rounded, "seed \(generator.seed), x \(x)")
        }
        #expect(BFloat16(Float.greatestFiniteMagnitude).floatValue == .infinity)
        #expect(BFloat16(-Float.infinity).floatValue == -.infinity)
        #expect(BFloat16(Float(bitPattern: 0x0001_0000)).bitPattern == 0x0001)
        #expect(BFloat16(-0.0 as Float).bitPattern == 0x8000)
        #expect(Float(BFloat16(bitPattern: 0x4049)) == 3.140625)
    }
}

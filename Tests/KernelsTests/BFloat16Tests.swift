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
}

import Testing
@testable import Coordinator

/// The demo `mfa-coordinator run` performs passes its own checks and says what it did.
@Suite struct KernelDemoTests {
    @Test func demoPassesAndReports() throws {
        let report = try KernelDemo(promptLengths: [20, 45, 3 + 16], decodeSteps: 4).run()
        #expect(report.passed, "\(report.lines)")
        #expect(report.lines.contains { $0.hasPrefix("prefill: 84 tokens") })
        #expect(report.lines.contains { $0.hasPrefix("decode: 4 steps x 3 sequences = 12 tokens") })
        #expect(report.lines.last?.hasPrefix("all checks passed") == true)
    }

    /// A tolerance no arithmetic can meet makes the demo report a failure instead of passing.
    @Test func failedCheckIsReported() throws {
        var demo = KernelDemo(promptLengths: [33, 40], decodeSteps: 2)
        demo.tolerance = -1
        let report = try demo.run()
        #expect(!report.passed)
        #expect(report.lines.last?.hasPrefix("CHECK FAILED") == true)
    }

    @Test func refusesPromptsOfOnePage() {
        #expect(throws: (any Error).self) { try KernelDemo(promptLengths: [16, 40]).run() }
    }
}

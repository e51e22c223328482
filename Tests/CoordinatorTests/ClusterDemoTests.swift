import Foundation
import TestSupport
import Testing

@testable import Coordinator

/// The demo `mfa-coordinator run` performs, end to end against real `mfa-worker` processes.
@Suite("ClusterDemo", .serialized, .timeLimit(.minutes(2)))
struct ClusterDemoTests {
    @Test("the demo passes its checks, hits the shared prefix, moves pages through every tier and shuts down cleanly")
    func demoPasses() async throws {
        var demo = ClusterDemo(workerBinary: try BuiltExecutable.worker.url())
        demo.decodeSteps = 4
        let report = await demo.run()
        #expect(report.passed, "\(report.failures)")
        #expect(report.lines.contains { $0.hasPrefix("re-open") && $0.contains("48 of 58 tokens cached (prefix hit)") })
        #expect(report.lines.contains { $0.contains("initech/1 (same tokens, another tenant): 0 cached") })
        #expect(report.lines.contains { $0.hasPrefix("decode") && $0.contains("accepted 1") })
        for tier in ["compressed", "disk", "remote"] {
            #expect(report.lines.contains { $0.hasPrefix("  tier \(tier):") && !$0.contains("moved_in 0") }, "\(tier)")
        }
        #expect(
            report.lines.contains {
                $0.hasPrefix("shutdown") && $0.contains("exited 0, store") && $0.contains("removed")
            }
        )
        #expect(report.lines.last == "result: all checks passed")
    }

    @Test("a tolerance no arithmetic meets fails the checks, and the cluster still shuts down cleanly")
    func failedCheckIsReported() async throws {
        var demo = ClusterDemo(workerBinary: try BuiltExecutable.worker.url())
        demo.decodeSteps = 2
        demo.tolerance = -1
        let report = await demo.run()
        #expect(!report.passed)
        #expect(report.failures.contains { $0.hasPrefix("prefill:") && $0.contains("differ from the dense reference") })
        #expect(report.failures.allSatisfy { $0.contains("differ from the dense reference") }, "\(report.failures)")
        #expect(report.lines.last?.hasSuffix("FAILED") == true)
    }

    @Test("a missing worker binary is a reported failure of the cluster start")
    func missingWorker() async {
        let report = await ClusterDemo(workerBinary: URL(fileURLWithPath: "/nonexistent/mfa-worker")).run()
        #expect(!report.passed)
        #expect(report.failures.first?.hasPrefix("the local cluster did not start") == true)
    }
}

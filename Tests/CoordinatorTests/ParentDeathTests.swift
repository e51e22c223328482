import CacheProtocol
import Foundation
import Synchronization
import TestSupport
import Testing

@testable import Coordinator

/// Launched processes die with their parent, and only then: a killed test run or coordinator
/// leaves no `mfa-worker` behind, and a worker outlives the thread that started it.
@Suite("processes die with their parent", .serialized)
struct ParentDeathTests {
    /// How long an orphaned worker may take to go: a few watch intervals and the kill.
    static let orphanLifetime: Duration = .seconds(3)

    /// Waits at most `timeout` until none of `processes` runs; those still running.
    static func survivors(of processes: [ProcessTable.Entry], within timeout: Duration) -> [ProcessTable.Entry] {
        let deadline = ContinuousClock.now + timeout
        while processes.contains(where: ProcessTable.isRunning), ContinuousClock.now < deadline {
            Thread.sleep(forTimeInterval: 0.01)
        }
        return processes.filter(ProcessTable.isRunning)
    }

    @Test("the local cluster `mfa-coordinator run` started is gone within 3 s of a SIGKILL to it")
    func clusterDiesWithItsRun() throws {
        let run = try BuiltExecutable.coordinator.launch(arguments: ["run"])
        var children: [ProcessTable.Entry] = []
        // Whatever happens below, no process of the cluster outlives the test.
        defer { for child in children where ProcessTable.isRunning(child) { kill(child.pid, SIGKILL) } }
        let deadline = ContinuousClock.now + .seconds(60)
        while children.count < 4, run.exit == nil, ContinuousClock.now < deadline {
            children =
                ProcessTable.children(of: run.pid, named: "mfa-worker")
                + ProcessTable.children(of: run.pid, named: "mfa-coordinator")
            if children.count < 4 { Thread.sleep(forTimeInterval: 0.005) }
        }
        try #require(children.count == 4, "the run's coordinator and workers: \(children)\n\(run.diagnostics)")
        #expect(run.kill() == .signalled(SIGKILL))
        let survivors = Self.survivors(of: children, within: Self.orphanLifetime)
        #expect(
            survivors.isEmpty,
            "still running \(Self.orphanLifetime) after the run that started them was killed: \(survivors)"
        )
    }

    /// What a launching thread hands back.
    private final class Launch: Sendable {
        let result = Mutex<Result<LaunchedWorker, LaunchedProcessError>?>(nil)
    }

    @Test("a worker started from a thread that has ended keeps running: the watch follows the parent process")
    func workerOutlivesItsLaunchingThread() throws {
        let binary = try BuiltExecutable.worker.url()
        let launch = Launch()
        let thread = Thread {
            let result = Result { () throws(LaunchedProcessError) in
                try LaunchedWorker(
                    binary: binary,
                    arguments: [
                        "--model", "name=tiny,layers=2,q-heads=4,kv-heads=2,head-dim=32,kv=f16,page=16", "--threads",
                        "1",
                    ]
                )
            }
            launch.result.withLock { $0 = result }
        }
        thread.start()
        let deadline = ContinuousClock.now + .seconds(30)
        while launch.result.withLock({ $0 == nil }), ContinuousClock.now < deadline {
            Thread.sleep(forTimeInterval: 0.01)
        }
        let worker = try #require(try launch.result.withLock { try $0?.get() })
        // The launching thread has returned; give an early watch many intervals to fire.
        while !thread.isFinished { Thread.sleep(forTimeInterval: 0.01) }
        Thread.sleep(forTimeInterval: 0.5)
        #expect(worker.process.exit == nil, "\(worker.process.diagnostics)")
        #expect(worker.stop() == 0, "\(worker.process.diagnostics)")
    }
}

import Coordinator
import Foundation
import Glibc
import TestSupport
import Testing

/// `cluster/local`, the script that starts a coordinator and workers on loopback, run as an operator
/// would with the debug binaries and a run directory of the test's own.
@Suite("cluster/local up, status, logs and down", .serialized)
struct LocalClusterScriptTests {
    @Test("up --workers 2 starts a coordinator and two registered workers; down leaves no process and no run directory")
    func upStatusDown() throws {
        let run = try ScriptRun()
        let up = try run.script(["up", "--workers", "2", "--memory", "8MiB", "--disk", "4MiB"])
        try #require(up.exit == .exited(0), "up failed: \(up.output)\(up.errors)")
        #expect(up.output.contains("2 workers registered"), "\(up.output)")
        let recorded = run.recordedProcesses()
        #expect(Set(recorded.keys) == ["coordinator", "worker-1", "worker-2"], "\(recorded)")
        #expect(recorded.values.allSatisfy(ProcessTable.isRunning), "\(recorded)")
        #expect(recorded["coordinator"]?.name == "mfa-coordinator")
        #expect(recorded["worker-1"]?.name == "mfa-worker" && recorded["worker-2"]?.name == "mfa-worker")
        let endpoints = try String(contentsOf: run.directory.appendingPathComponent("endpoints"), encoding: .utf8)
        #expect(endpoints.hasPrefix("client tcp://"), "\(endpoints)")

        let status = try run.script(["status"])
        #expect(status.exit == .exited(0), "\(status.output)\(status.errors)")
        let lines = status.output.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        for (name, process) in recorded {
            #expect(
                lines.contains { $0.count >= 3 && $0[0] == name && $0[1] == "\(process.pid)" && $0[2] == "alive" },
                "\(status.output)"
            )
        }
        // The coordinator's own status: both workers registered and live.
        #expect(status.output.contains("workers 2 (live 2, draining 0, dead 0"), "\(status.output)")

        let log = try run.script(["logs", "coordinator"])
        #expect(log.exit == .exited(0))
        #expect(log.output.contains("listening client=tcp://"), "\(log.output)")

        let down = try run.script(["down"])
        #expect(down.exit == .exited(0), "\(down.output)\(down.errors)")
        for (name, process) in recorded {
            #expect(!ProcessTable.isRunning(process), "\(name) (pid \(process.pid)) still runs after down")
        }
        #expect(run.processesOfThisRun().isEmpty, "left running: \(run.processesOfThisRun())")
        #expect(!FileManager.default.fileExists(atPath: run.directory.path), "the run directory is still there")
        let statusAfter = try run.script(["status"])
        #expect(statusAfter.exit == .exited(1) && statusAfter.output.contains("no cluster"), "\(statusAfter.output)")
    }

    @Test(
        "a second up while a cluster (with a store worker) runs is refused, and the running cluster is left as it was"
    )
    func secondUpRefused() throws {
        let run = try ScriptRun()
        let up = try run.script(["up", "--workers", "1", "--store", "1", "--memory", "8MiB", "--disk", "4MiB"])
        try #require(up.exit == .exited(0), "up failed: \(up.output)\(up.errors)")
        #expect(up.output.contains("2 workers registered"), "\(up.output)")
        let recorded = run.recordedProcesses()
        #expect(Set(recorded.keys) == ["coordinator", "store-1", "worker-1"], "\(recorded)")

        let again = try run.script(["up", "--workers", "1"])
        #expect(again.exit == .exited(1), "\(again.output)\(again.errors)")
        #expect(again.errors.contains("already running"), "\(again.errors)")
        #expect(again.errors.contains("cluster/local down"), "\(again.errors)")
        #expect(run.recordedProcesses() == recorded)
        #expect(recorded.values.allSatisfy(ProcessTable.isRunning), "\(recorded)")
        #expect(Set(run.processesOfThisRun()) == Set(recorded.values.map(\.pid)))

        let down = try run.script(["down"])
        #expect(down.exit == .exited(0), "\(down.output)\(down.errors)")
        #expect(recorded.values.allSatisfy { !ProcessTable.isRunning($0) }, "\(recorded)")
        #expect(run.processesOfThisRun().isEmpty, "left running: \(run.processesOfThisRun())")
        #expect(!FileManager.default.fileExists(atPath: run.directory.path))
    }

    @Test("an up whose worker cannot start stops the coordinator it started and fails with the worker's log")
    func failedUpStopsWhatItStarted() throws {
        let run = try ScriptRun()
        let up = try run.script(["up", "--workers", "1", "--memory", "lots"])
        #expect(up.exit == .exited(1), "\(up.output)\(up.errors)")
        #expect(up.errors.contains("worker-1"), "\(up.errors)")
        #expect(up.errors.contains("up failed"), "\(up.errors)")
        #expect(run.processesOfThisRun().isEmpty, "left running: \(run.processesOfThisRun())")
        #expect(run.recordedProcesses().isEmpty)

        let down = try run.script(["down"])
        #expect(down.exit == .exited(0), "\(down.output)\(down.errors)")
        #expect(!FileManager.default.fileExists(atPath: run.directory.path))
    }
}

/// One run directory in a temporary folder of its own, and `cluster/local` run against it with
/// the debug binaries. Every process started for it is killed by PID when this goes away, also
/// when the test failed half-way.
private final class ScriptRun {
    /// The temporary folder; the run directory is inside it, made by the script.
    let folder: URL
    /// `MFA_RUN_DIR`.
    let directory: URL
    /// `MFA_BIN_DIR`: where the test's build put `mfa-coordinator` and `mfa-worker`.
    let binaries: String

    init(sourceLocation: SourceLocation = #_sourceLocation) throws {
        binaries = try BuiltExecutable.coordinator.url(sourceLocation: sourceLocation).deletingLastPathComponent().path
        _ = try BuiltExecutable.worker.url(sourceLocation: sourceLocation)
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("mfa-local-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false)
        directory = folder.appendingPathComponent("run")
    }

    /// Runs `cluster/local arguments` to its end (at most `timeout`): how it ended, its stdout and
    /// its stderr.
    func script(
        _ arguments: [String],
        timeout: Duration = .seconds(90),
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> (exit: ProcessExit, output: String, errors: String) {
        let process = try LaunchedProcess(
            executable: URL(fileURLWithPath: Fixtures.repositoryPath("cluster/local")),
            arguments: arguments,
            environment: [
                "MFA_RUN_DIR": directory.path, "MFA_BIN_DIR": binaries, "MFA_START_TIMEOUT": "30",
                "MFA_STOP_TIMEOUT": "10",
            ]
        )
        let exit = try #require(
            process.waitForExit(within: timeout),
            "cluster/local \(arguments.joined(separator: " ")) did not finish: \(process.diagnostics)",
            sourceLocation: sourceLocation
        )
        return (exit, process.standardOutput, process.standardError)
    }

    /// The processes the run directory's pid files name, by name, that exist now (with their start
    /// time, so that a later check cannot take another process for them).
    func recordedProcesses() -> [String: ProcessTable.Entry] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        var processes: [String: ProcessTable.Entry] = [:]
        for file in files where file.hasSuffix(".pid") {
            let text = (try? String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)) ?? ""
            if let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)),
                let entry = ProcessTable.entry(pid)
            {
                processes[String(file.dropLast(".pid".count))] = entry
            }
        }
        return processes
    }

    /// Every running process (not a zombie) whose environment holds this run's `MFA_RUN_DIR`:
    /// whatever the script started, found without its own records.
    func processesOfThisRun() -> [Int32] {
        let marker = Array("MFA_RUN_DIR=\(directory.path)".utf8)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return names.compactMap(Int32.init).filter { pid in
            guard let entry = ProcessTable.entry(pid), ProcessTable.isRunning(entry),
                let environment = FileManager.default.contents(atPath: "/proc/\(pid)/environ")
            else { return false }
            return environment.split(separator: 0).contains { Array($0) == marker }
        }
    }

    deinit {
        for pid in processesOfThisRun() { kill(pid, SIGKILL) }
        try? FileManager.default.removeItem(at: folder)
    }
}

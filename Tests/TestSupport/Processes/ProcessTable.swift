import Foundation

/// This machine's processes as Linux's `/proc` lists them: enough for a test to find the children a
/// process started and to tell whether a process still runs.
public enum ProcessTable {
    /// One line of `/proc/<pid>/stat`: the fields a test needs.
    public struct Entry: Sendable, Equatable {
        /// The process id.
        public var pid: Int32
        /// The executable's name, at most 15 characters (`comm`).
        public var name: String
        /// The state letter: `R`, `S`, `D`… `Z` for a zombie (ended, not yet reaped).
        public var state: Character
        /// The parent's process id.
        public var parent: Int32
        /// When it started, in clock ticks after boot: with `pid`, names one process for good.
        public var startTime: UInt64
    }

    /// The entry of process `pid`; nil when there is no such process.
    public static func entry(_ pid: Int32) -> Entry? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")")
        else { return nil }
        // After the name: state, ppid, then 17 more fields to the start time (field 22).
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let state = fields[0].first, let parent = Int32(fields[1]),
            let startTime = UInt64(fields[19])
        else { return nil }
        return Entry(
            pid: pid,
            name: String(text[text.index(after: open)..<close]),
            state: state,
            parent: parent,
            startTime: startTime
        )
    }

    /// Every process whose parent is `parent` and whose name is `name`.
    public static func children(of parent: Int32, named name: String) -> [Entry] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return names.compactMap(Int32.init).compactMap(entry).filter { $0.parent == parent && $0.name == name }
    }

    /// Whether the process `entry` names (same id, same start time) still runs: it exists and is
    /// not a zombie.
    public static func isRunning(_ entry: Entry) -> Bool {
        guard let now = self.entry(entry.pid) else { return false }
        return now.startTime == entry.startTime && now.state != "Z"
    }
}

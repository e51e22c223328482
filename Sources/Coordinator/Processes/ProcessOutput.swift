import Foundation
import Glibc
import Synchronization

/// What a child process writes to one pipe (its stdout or its stderr), gathered by the pipe's
/// reader as it arrives. At most `limit` bytes are kept: past that the oldest go, so a chatty
/// process that runs for days cannot fill this one's memory.
final class ProcessOutput: Sendable {
    /// The most bytes kept.
    let limit: Int
    private let state = Mutex(State())

    private struct State {
        var bytes: [UInt8] = []
        var isClosed = false
    }

    /// Output keeping at most `limit` bytes.
    init(limit: Int = 16 << 20) {
        self.limit = limit
    }

    /// Reads the pipe's read end `descriptor` on a thread of its own from now on (blocking reads,
    /// no Dispatch source): each chunk is appended; end-of-file closes the descriptor and marks
    /// the output closed.
    func read(descriptor: Int32) {
        let thread = Thread { [self] in
            var buffer = [UInt8](repeating: 0, count: 64 << 10)
            while true {
                let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
                if count > 0 {
                    append(buffer[..<count])
                } else if count < 0, errno == EINTR {
                    continue
                } else {
                    break
                }
            }
            close(descriptor)
            state.withLock { $0.isClosed = true }
        }
        thread.name = "process-output"
        thread.start()
    }

    private func append(_ bytes: ArraySlice<UInt8>) {
        state.withLock { state in
            state.bytes.append(contentsOf: bytes)
            if state.bytes.count > limit { state.bytes.removeFirst(state.bytes.count - limit) }
        }
    }

    /// Everything kept so far, as UTF-8 text.
    var text: String {
        state.withLock { String(decoding: $0.bytes, as: UTF8.self) }
    }

    /// Whether the writer closed the pipe (every copy of its write end is gone).
    var isClosed: Bool {
        state.withLock { $0.isClosed }
    }

    /// The rest of the first complete line that starts with `prefix`, without the prefix.
    func line(startingWith prefix: String) -> String? {
        let text = text
        guard let lastBreak = text.lastIndex(of: "\n") else { return nil }
        return text[..<lastBreak].split(separator: "\n").first { $0.hasPrefix(prefix) }
            .map { String($0.dropFirst(prefix.count)) }
    }

    /// The last `count` lines (all of them when there are fewer).
    func tail(lines count: Int) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        return lines.suffix(count).joined(separator: "\n")
    }
}

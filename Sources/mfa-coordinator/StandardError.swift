import Foundation

/// Writes command-line diagnostics to standard error.
enum StandardError {
    /// Writes `message` as a single `error: …` line (newlines inside it become "; ").
    static func report(_ message: String) {
        let line = message.split(whereSeparator: \.isNewline).joined(separator: "; ")
        write("error: \(line)")
    }

    /// Writes `line` and a newline.
    static func write(_ line: String) {
        FileHandle.standardError.write(Data("\(line)\n".utf8))
    }
}

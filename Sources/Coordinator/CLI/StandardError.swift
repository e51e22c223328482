import Foundation

/// Writes command-line diagnostics to standard error.
enum StandardError {
    /// Writes `message` as a single `error: …` line (newlines inside it become "; ").
    static func report(_ message: String) {
        let line = message.split(whereSeparator: \.isNewline).joined(separator: "; ")
        FileHandle.standardError.write(Data("error: \(line)\n".utf8))
    }
}

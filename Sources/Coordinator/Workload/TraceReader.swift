import Foundation

/// Reads a request trace in the Mooncake FAST'25 JSONL format: one JSON object a line with
/// `timestamp` (ms), `input_length`, `output_length` and `hash_ids`; blank lines are skipped and
/// unknown fields ignored. Every record is checked: lengths positive, timestamps finite and not
/// decreasing, and `hash_ids` holding exactly one id per 512-token block of the prompt.
public enum TraceReader {
    /// The records of the trace file at `path`, in file order.
    public static func read(path: String) throws(TraceError) -> [TraceRecord] {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .unreadable(path: path, reason: "\(error.localizedDescription)")
        }
        return try parse(String(decoding: data, as: UTF8.self))
    }

    /// The records of `text` (JSONL), in order.
    public static func parse(_ text: String) throws(TraceError) -> [TraceRecord] {
        var records: [TraceRecord] = []
        let decoder = JSONDecoder()
        var lastTimestamp = -Double.infinity
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty else { continue }
            let number = index + 1
            let line: Line
            do {
                line = try decoder.decode(Line.self, from: Data(trimmed.utf8))
            } catch {
                throw .malformedLine(line: number, reason: Self.reason(error))
            }
            let record = TraceRecord(
                timestampMilliseconds: line.timestamp,
                inputLength: line.input_length,
                outputLength: line.output_length,
                hashIDs: line.hash_ids
            )
            try check(record, line: number, after: lastTimestamp)
            lastTimestamp = record.timestampMilliseconds
            records.append(record)
        }
        guard !records.isEmpty else { throw .empty }
        return records
    }

    /// The fields of one line as the JSON names them.
    private struct Line: Decodable {
        // swift-format-ignore: AlwaysUseLowerCamelCase
        var timestamp: Double
        var input_length: Int
        var output_length: Int
        var hash_ids: [UInt64]
    }

    private static func check(_ record: TraceRecord, line: Int, after previous: Double) throws(TraceError) {
        guard record.timestampMilliseconds.isFinite, record.timestampMilliseconds >= 0 else {
            throw .invalidRecord(line: line, reason: "timestamp \(record.timestampMilliseconds) is not a time")
        }
        guard record.timestampMilliseconds >= previous else {
            throw .invalidRecord(
                line: line,
                reason: "timestamp \(record.timestampMilliseconds) is before the previous line's \(previous)"
            )
        }
        guard record.inputLength > 0, record.outputLength > 0 else {
            throw .invalidRecord(
                line: line,
                reason: "lengths must be positive (input \(record.inputLength), output \(record.outputLength))"
            )
        }
        let blocks = (record.inputLength + TraceRecord.traceBlockTokens - 1) / TraceRecord.traceBlockTokens
        guard record.hashIDs.count == blocks else {
            throw .invalidRecord(
                line: line,
                reason:
                    "\(record.inputLength) prompt tokens are \(blocks) blocks of \(TraceRecord.traceBlockTokens), but there are \(record.hashIDs.count) hash ids"
            )
        }
    }

    private static func reason(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "missing field \(key.stringValue)"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            "field \(context.codingPath.map(\.stringValue).joined(separator: ".")): \(context.debugDescription)"
        case DecodingError.dataCorrupted(let context): context.debugDescription
        default: "\(error)"
        }
    }
}

/// The dictionary of a `.npy` header: `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`.
///
/// Parses exactly the Python literal subset NumPy writes (quoted strings, `True`/`False`, tuples
/// of non-negative integers), and renders the same form.
struct NPYHeader: Sendable, Hashable {
    /// The dtype descriptor, e.g. `<f4`.
    var descr: String
    /// Whether the data is column-major.
    var fortranOrder: Bool
    /// The array's dimensions (empty for a scalar).
    var shape: [Int]

    /// Parses a header dictionary.
    init(parsing text: String) throws(NPYError) {
        var scanner = Scanner(Array(text.utf8))
        var descr: String?
        var fortranOrder: Bool?
        var shape: [Int]?
        try scanner.expect(UInt8(ascii: "{"))
        while true {
            scanner.skipSpaces()
            if scanner.consume(UInt8(ascii: "}")) { break }
            let key = try scanner.quotedString()
            try scanner.expect(UInt8(ascii: ":"))
            switch key {
            case "descr": descr = try scanner.quotedString()
            case "fortran_order": fortranOrder = try scanner.boolean()
            case "shape": shape = try scanner.integerTuple()
            default: throw .malformedHeader("unknown key '\(key)'")
            }
            scanner.skipSpaces()
            if scanner.consume(UInt8(ascii: ",")) { continue }
            try scanner.expect(UInt8(ascii: "}"))
            break
        }
        scanner.skipSpaces()
        guard scanner.atEnd else { throw .malformedHeader("text after the dictionary") }
        guard let descr, let fortranOrder, let shape else {
            throw .malformedHeader("needs 'descr', 'fortran_order' and 'shape'")
        }
        self.descr = descr
        self.fortranOrder = fortranOrder
        self.shape = shape
    }

    /// A header for C-ordered data.
    init(descr: String, shape: [Int]) {
        self.descr = descr
        fortranOrder = false
        self.shape = shape
    }

    /// The dictionary as NumPy writes it.
    var text: String {
        let dims = shape.map(String.init).joined(separator: ", ")
        let tuple = shape.count == 1 ? "(\(dims),)" : "(\(dims))"
        return "{'descr': '\(descr)', 'fortran_order': \(fortranOrder ? "True" : "False"), 'shape': \(tuple), }"
    }

    /// A cursor over the header's bytes.
    private struct Scanner {
        let bytes: [UInt8]
        var index = 0

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var atEnd: Bool { index == bytes.count }

        mutating func skipSpaces() {
            while index < bytes.count, bytes[index] == UInt8(ascii: " ") || bytes[index] == UInt8(ascii: "\n") {
                index += 1
            }
        }

        mutating func consume(_ byte: UInt8) -> Bool {
            skipSpaces()
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        mutating func expect(_ byte: UInt8) throws(NPYError) {
            guard consume(byte) else {
                throw .malformedHeader("expected '\(Character(Unicode.Scalar(byte)))' at offset \(index)")
            }
        }

        mutating func quotedString() throws(NPYError) -> String {
            skipSpaces()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "'") || bytes[index] == UInt8(ascii: "\"") else {
                throw .malformedHeader("expected a quoted string at offset \(index)")
            }
            let quote = bytes[index]
            let start = index + 1
            guard let end = bytes[start...].firstIndex(of: quote) else {
                throw .malformedHeader("unterminated string at offset \(index)")
            }
            index = end + 1
            return String(decoding: bytes[start..<end], as: UTF8.self)
        }

        mutating func boolean() throws(NPYError) -> Bool {
            skipSpaces()
            for (word, value) in [("True", true), ("False", false)] {
                let utf8 = Array(word.utf8)
                if bytes.count - index >= utf8.count, Array(bytes[index..<index + utf8.count]) == utf8 {
                    index += utf8.count
                    return value
                }
            }
            throw .malformedHeader("expected True or False at offset \(index)")
        }

        mutating func integerTuple() throws(NPYError) -> [Int] {
            try expect(UInt8(ascii: "("))
            var values: [Int] = []
            while true {
                if consume(UInt8(ascii: ")")) { return values }
                values.append(try integer())
                if consume(UInt8(ascii: ",")) { continue }
                try expect(UInt8(ascii: ")"))
                return values
            }
        }

        mutating func integer() throws(NPYError) -> Int {
            skipSpaces()
            var value = 0
            let start = index
            while index < bytes.count, let digit = Self.digit(bytes[index]) {
                let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times10.addingReportingOverflow(digit)
                guard !overflow1, !overflow2 else { throw .malformedHeader("dimension too large") }
                value = sum
                index += 1
            }
            // Python 2 era files may write long integers as `3L`.
            if index < bytes.count, bytes[index] == UInt8(ascii: "L"), index > start { index += 1 }
            guard index > start else { throw .malformedHeader("expected a dimension at offset \(start)") }
            return value
        }

        static func digit(_ byte: UInt8) -> Int? {
            byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") ? Int(byte - UInt8(ascii: "0")) : nil
        }
    }
}

/// A contractual cohort's retention table: a header, then one row per period `0, 1, 2, …` with
/// the number of customers still active after it, one column per cohort or segment (as
/// `datasets/retention/fader_hardie_2007.csv`: `year,regular,high_end`).
public enum RetentionTable {
    /// The counts of one column (by header name; nil: the second column), checked to be a
    /// cohort's survivors: whole, non-negative, never increasing, periods numbered from 0.
    public static func read(path: String, column: String?) throws -> [Double] {
        let bytes = try readWholeFile(path)
        return try bytes.withUnsafeBufferPointer { buffer in
            var start = 0
            if buffer.count >= 3, buffer[0] == 0xEF, buffer[1] == 0xBB, buffer[2] == 0xBF { start = 3 }
            var scanner = RecordScanner(buffer, delimiter: .comma, from: start)
            let fields = FieldBuffer()
            func next() throws -> Int? {
                do {
                    guard case .record(let line) = try scanner.next(fields, atEndOfInput: true) else { return nil }
                    return line
                } catch {
                    throw TransactionsError.invalidInput(SourceLocation(file: path, line: error.line), error.message)
                }
            }
            guard try next() != nil else { throw TransactionsError.invalidFile(path, "the file is empty: expected a retention table") }
            let header = fields.map { scanner.text($0) }
            guard header.count >= 2 else {
                throw TransactionsError.invalidInput(SourceLocation(file: path, line: 1), "expected a period column and at least one column of counts")
            }
            let index: Int
            if let column {
                guard let found = header.firstIndex(of: column) else {
                    throw TransactionsError.invalidInput(SourceLocation(file: path, line: 1),
                                                         "no \"\(column)\" column: the header has \(header.map { "\"\($0)\"" }.joined(separator: ", "))")
                }
                index = found
            } else {
                index = 1
            }
            var counts: [Double] = []
            while let line = try next() {
                guard fields.count == header.count else {
                    throw TransactionsError.invalidInput(SourceLocation(file: path, line: line), "\(fields.count) fields, expected \(header.count) like the header")
                }
                func whole(_ i: Int) throws -> Double {
                    let field = fields[i]
                    guard case .value(let value) = parseAmount(buffer.baseAddress! + field.start, field.end - field.start),
                          value >= 0, value.rounded() == value else {
                        throw TransactionsError.invalidInput(SourceLocation(file: path, line: line, column: header[i]),
                                                             "\"\(scanner.text(field))\" is not a count (a whole number ≥ 0)")
                    }
                    return value
                }
                guard try whole(0) == Double(counts.count) else {
                    throw TransactionsError.invalidInput(SourceLocation(file: path, line: line, column: header[0]),
                                                         "expected period \(counts.count): periods are numbered 0, 1, 2, … one row each")
                }
                let value = try whole(index)
                if let previous = counts.last, value > previous {
                    throw TransactionsError.invalidInput(SourceLocation(file: path, line: line, column: header[index]),
                                                         "\(Int(value)) active after \(Int(previous)) the period before: survivors cannot increase")
                }
                counts.append(value)
            }
            guard counts.count >= 2 else { throw TransactionsError.invalidFile(path, "need the cohort size (period 0) and at least one later period") }
            return counts
        }
    }
}

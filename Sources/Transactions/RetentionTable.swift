/// A contractual cohort's retention table: a header, then one row per period `0, 1, 2, …` with
/// the number of customers still active after it, one column per cohort or segment (as
/// `datasets/retention/fader_hardie_2007.csv`: `year,regular,high_end`).
public enum RetentionTable {
    /// The counts of one column (by header name; nil: the second column), checked to be a
    /// cohort's survivors: whole, non-negative, never increasing, periods numbered from 0.
    public static func read(path: String, column: String?) throws -> [Double] {
        let bytes = try readWholeFile(path)
        return try bytes.withUnsafeBufferPointer { buffer in
            var records = try HeaderedRecords(buffer, path: path, whenEmpty: "the file is empty: expected a retention table")
            let header = records.header, fields = records.fields
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
            while let line = try records.next() {
                func whole(_ i: Int) throws -> Double {
                    let field = fields[i]
                    guard case .value(let value) = parseAmount(buffer.baseAddress! + field.start, field.end - field.start),
                          value >= 0, value.rounded() == value, value < 1e15 else {
                        throw TransactionsError.invalidInput(SourceLocation(file: path, line: line, column: header[i]),
                                                             "\(records.scanner.quoted(field)) is not a count (a whole number from 0 to 10¹⁵)")
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

/// A small comma-separated table read whole as text: a header and rows of fields, each row
/// with the line it starts on, for side inputs such as per-customer attributes that are
/// joined onto a summary. Quoting, CRLF, a byte-order mark and blank lines are read as the
/// transaction log reader reads them; a row whose field count differs from the header's is
/// an error naming its line.
public struct CSVTable: Sendable {
    public let path: String
    public let header: [String]
    public let rows: [[String]]
    /// The 1-based line each row starts on.
    public let lines: [Int]

    public static func read(path: String) throws -> CSVTable {
        let bytes = try readWholeFile(path)
        return try bytes.withUnsafeBufferPointer { buffer in
            let start = buffer.count >= 3 && buffer[0] == 0xEF && buffer[1] == 0xBB && buffer[2] == 0xBF ? 3 : 0
            var scanner = RecordScanner(buffer, delimiter: .comma, from: start)
            let fields = FieldBuffer()
            var header: [String]?
            var rows: [[String]] = []
            var lines: [Int] = []
            while true {
                let outcome: ScanOutcome
                do {
                    outcome = try scanner.next(fields, atEndOfInput: true)
                } catch let error as ScanError {
                    throw TransactionsError.invalidInput(SourceLocation(file: path, line: error.line), error.message)
                }
                guard case .record(let line) = outcome else { break }
                let values = fields.map { scanner.text($0) }
                guard let header else {
                    header = values
                    continue
                }
                guard values.count == header.count else {
                    throw TransactionsError.invalidInput(SourceLocation(file: path, line: line),
                                                         "\(values.count) fields, expected \(header.count) like the header")
                }
                rows.append(values)
                lines.append(line)
            }
            guard let header else { throw TransactionsError.invalidFile(path, "the file is empty: expected a header line") }
            return CSVTable(path: path, header: header, rows: rows, lines: lines)
        }
    }
}

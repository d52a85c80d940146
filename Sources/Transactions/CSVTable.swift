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
            var records = try HeaderedRecords(buffer, path: path, whenEmpty: "the file is empty: expected a header line")
            var rows: [[String]] = []
            var lines: [Int] = []
            while let line = try records.next() {
                rows.append(records.fields.map { records.scanner.text($0) })
                lines.append(line)
            }
            let header = records.header
            return CSVTable(path: path, header: header, rows: rows, lines: lines)
        }
    }
}
